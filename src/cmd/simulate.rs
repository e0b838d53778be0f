use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use apim_simulator::{Simulator, SimulatorConfig};

#[derive(clap::Args)]
pub struct Args {
    /// Deployments, limits, latency and faults (YAML, or JSON for a .json file). Without it:
    /// gpt-4o, gpt-35-turbo, text-embedding-ada-002 and text-embedding-3-small, any key.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Print the effective configuration as YAML and exit.
    #[arg(long)]
    print_config: bool,
}

pub fn run(args: Args) -> ExitCode {
    let config = match &args.config {
        Some(path) => match SimulatorConfig::from_path(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => SimulatorConfig::default_deployments(),
    };
    if args.print_config {
        return match serde_yaml_print(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let names: Vec<String> = config.deployments.keys().cloned().collect();
    let sim = match Simulator::new(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = apim_simulator::run_blocking(sim, args.listen, |addr| {
        println!(
            "apim-emu simulate: listening on http://{addr} (deployments: {})",
            names.join(", ")
        );
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot serve on {}: {e}", args.listen);
            ExitCode::FAILURE
        }
    }
}

fn serde_yaml_print(config: &SimulatorConfig) -> Result<(), String> {
    let text = apim_simulator::config::to_yaml(config).map_err(|e| e.to_string())?;
    print!("{text}");
    Ok(())
}
