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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_and_checks() {
        let dir = std::env::temp_dir().join(format!("apim-emu-fmt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.xml");
        let raw = "<fragment><set-variable name=\"a\" value=\"@(1 < 2 && true)\" /></fragment>";
        std::fs::write(&file, raw).unwrap();
        let args = |to, check| Args {
            to,
            check,
            paths: vec![dir.clone()],
        };
        assert_eq!(run(args(To::Xml, true)), ExitCode::from(1));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            raw,
            "--check writes nothing"
        );
        assert_eq!(run(args(To::Xml, false)), ExitCode::SUCCESS);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "<fragment><set-variable name=\"a\" value=\"@(1 &lt; 2 &amp;&amp; true)\" /></fragment>"
        );
        assert_eq!(run(args(To::Xml, true)), ExitCode::SUCCESS);
        assert_eq!(run(args(To::Rawxml, false)), ExitCode::SUCCESS);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), raw);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
