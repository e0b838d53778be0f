use std::path::PathBuf;
use std::process::ExitCode;

use apim_policy::diag::{self, FileDiagnostics};
use apim_policy::{Form, WriteError};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum To {
    /// Escaped XML (what Bicep, ARM and Terraform need).
    Xml,
    /// Raw form: expressions unescaped, as people edit them.
    Rawxml,
}

#[derive(clap::Args)]
pub struct Args {
    /// Target form.
    #[arg(long, value_enum)]
    to: To,
    /// Do not write; exit with status 1 when a file would change.
    #[arg(long)]
    check: bool,
    /// Policy files or folders (folders are searched recursively for *.xml).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let form = match args.to {
        To::Xml => Form::Xml,
        To::Rawxml => Form::RawXml,
    };
    let files = match super::check::collect_files(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut changed, mut failed) = (0usize, 0usize);
    for f in &files {
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                return ExitCode::from(2);
            }
        };
        let path = f.display().to_string();
        let result = match std::str::from_utf8(&bytes) {
            Ok(text) => apim_policy::write(text, form).map(|out| (text, out)),
            Err(_) => Err(WriteError::Invalid(
                apim_policy::read(&bytes, f).diagnostics,
            )),
        };
        match result {
            Ok((text, out)) if out != text => {
                changed += 1;
                if args.check {
                    println!("would convert: {path}");
                } else if let Err(e) = std::fs::write(f, out) {
                    eprintln!("error: {path}: {e}");
                    return ExitCode::from(2);
                } else {
                    println!("converted: {path}");
                }
            }
            Ok(_) => {}
            Err(WriteError::Invalid(diagnostics)) => {
                failed += 1;
                let source = String::from_utf8_lossy(&bytes);
                eprint!(
                    "{}",
                    diag::render_human(&FileDiagnostics {
                        path: &path,
                        source: &source,
                        diagnostics: &diagnostics,
                    })
                );
                eprintln!("error: {path}: not converted because of the errors above");
            }
        }
    }
    let verb = if args.check {
        "would change"
    } else {
        "changed"
    };
    println!(
        "{} documents: {changed} {verb}, {failed} not converted (errors)",
        files.len()
    );
    if failed > 0 || (args.check && changed > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
