use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use apim_gateway::serve::{ServeOptions, run_blocking};

#[derive(clap::Args)]
pub struct Args {
    /// An `apim-emu.yaml`, a folder holding one, or an APIOps extractor folder.
    path: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Environment overrides of an APIOps folder (`configuration.<NAME>.yaml`).
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// Reload changed policies and configuration; a bad edit keeps the last good plan.
    #[arg(long)]
    watch: bool,
}

pub fn run(args: Args) -> ExitCode {
    let options = ServeOptions {
        listen: args.listen,
        env: args.env,
        watch: args.watch,
    };
    let result = run_blocking(&args.path, options, |gw| {
        use std::io::Write;
        println!("{}", gw.startup_line());
        // Scripts and tests read the address from this line: do not leave it buffered.
        let _ = std::io::stdout().flush();
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string();
            eprint!("{text}");
            if !text.ends_with('\n') {
                eprintln!();
            }
            ExitCode::FAILURE
        }
    }
}
