//! `apim-emu eval 'EXPR' [--context FILE] [--format json]`: evaluates one policy expression.
use std::io::Read;
use std::process::ExitCode;

use apim_csharp::EvalError;

#[derive(clap::Args)]
pub struct Args {
    /// The expression, `@(...)` or `@{...}`; `-` reads it from standard input.
    expression: String,
    /// Context file (JSON; see docs/eval-context.md).
    #[arg(long)]
    context: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> ExitCode {
    let source = if args.expression == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("error: cannot read the expression from stdin: {e}");
            return ExitCode::from(2);
        }
        s.trim().to_string()
    } else {
        args.expression.clone()
    };
    let ctx_json: serde_json::Value = match &args.context {
        None => serde_json::json!({}),
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: context file {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    let json = matches!(args.format, Format::Json);
    let program = match apim_csharp::compile(&source) {
        Ok(p) => p,
        Err(diags) => {
            if json {
                let d: Vec<_> = diags.iter().map(|d| serde_json::json!({"code": d.code, "message": d.message, "start": d.span.start, "end": d.span.end})).collect();
                println!("{}", serde_json::json!({"diagnostics": d}));
            } else {
                for d in &diags {
                    println!("{}", d.render(&source));
                }
            }
            return ExitCode::from(1);
        }
    };
    let ctx = match apim_csharp::json_context::context(&ctx_json) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let env = apim_csharp::json_context::environment(&ctx_json);
    match program.evaluate(&ctx, &env) {
        Ok(v) => {
            let shown = apim_csharp::render::display(&v);
            let ty = apim_csharp::render::clr_type_full_name(&v);
            if json {
                println!(
                    "{}",
                    serde_json::json!({"value": apim_csharp::render::render(&v), "type": apim_csharp::render::type_name(&v), "clrType": ty})
                );
            } else {
                println!("{shown} ({ty})");
            }
            ExitCode::SUCCESS
        }
        Err(EvalError::Exception(e)) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"exception": e.full_name(), "message": e.message})
                );
            } else {
                println!("{}: {}", e.full_name(), e.message);
            }
            ExitCode::from(1)
        }
        Err(e @ EvalError::StepBudget(_)) => {
            if json {
                println!("{}", serde_json::json!({"error": e.to_string()}));
            } else {
                println!("error: {e}");
            }
            ExitCode::from(1)
        }
    }
}
