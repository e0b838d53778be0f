use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use apim_gateway::serve::{Limits, ServeOptions, run_blocking};

// For the whole binary: serve's per-request allocations are cheaper with it (docs/decisions.md).
#[global_allocator]
static ALLOCATOR: apim_gateway::serve::Allocator = apim_gateway::serve::Allocator;

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
    /// Largest request body accepted, in bytes (413 past it). Default 100 MiB.
    #[arg(long, value_name = "BYTES")]
    max_request_body: Option<usize>,
    /// Largest response body sent, in bytes (a buffered one past it is a 502, a streamed one is
    /// cut off). Default: no limit.
    #[arg(long, value_name = "BYTES")]
    max_response_body: Option<usize>,
    /// Seconds a client has to send a request head; idle keep-alive connections close after it
    /// too. Default 30.
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    header_timeout: Option<Duration>,
    /// Longest pause, in seconds, while a request body arrives (408 and the connection closed
    /// past it). Default 30.
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    body_timeout: Option<Duration>,
    /// Threads serving connections, each with its own runtime. Default: one per core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
}

fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}`: expected a positive number of seconds"))
}

pub fn run(args: Args) -> ExitCode {
    let defaults = Limits::default();
    let options = ServeOptions {
        listen: args.listen,
        env: args.env,
        watch: args.watch,
        limits: Limits {
            max_request_body: args.max_request_body.unwrap_or(defaults.max_request_body),
            max_response_body: args.max_response_body.or(defaults.max_response_body),
            header_read_timeout: args.header_timeout.unwrap_or(defaults.header_read_timeout),
            body_read_timeout: args.body_timeout.unwrap_or(defaults.body_read_timeout),
        },
        workers: args.workers.map(usize::from),
        log_requests: false,
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
