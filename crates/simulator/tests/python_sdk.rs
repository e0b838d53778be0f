//! Runs tests/python (pytest, the official `openai` SDK and `tiktoken`) against the simulator
//! served on a free loopback port. Skips with a message when python3 or the packages are
//! missing, except under CI (env `CI` set), where that is a failure.

use std::path::PathBuf;
use std::process::Command;

use apim_simulator::tokens::Encoding;
use apim_simulator::{Simulator, SimulatorConfig};

fn python_ready() -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import openai, tiktoken, pytest"])
        .output()
        .map_err(|e| format!("python3 is not available: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "python3 lacks openai/tiktoken/pytest (run .ci/install.d/30-simulator-python.sh): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[test]
fn openai_python_sdk_against_the_simulator() {
    if let Err(why) = python_ready() {
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("SKIPPED openai_python_sdk_against_the_simulator: {why}");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // tiktoken's BPE files, written from tiktoken-rs's copy: the network is not needed.
    let bpe_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tiktoken-bpe");
    std::fs::create_dir_all(&bpe_dir).unwrap();
    for encoding in [Encoding::Cl100kBase, Encoding::O200kBase] {
        let path = bpe_dir.join(format!("{}.tiktoken", encoding.name()));
        let mut file = std::fs::File::create(&path).unwrap();
        encoding.write_tiktoken_file(&mut file).unwrap();
    }
    let cache_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tiktoken-cache");
    std::fs::create_dir_all(&cache_dir).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::new(SimulatorConfig::default_deployments()).unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(apim_simulator::serve(listener, sim));

    let out = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "tests/python",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(&root)
        .env("APIM_SIM_BASE_URL", format!("http://{addr}"))
        .env("APIM_SIM_TIKTOKEN_BPE_DIR", &bpe_dir)
        .env("TIKTOKEN_CACHE_DIR", &cache_dir)
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    assert!(out.status.success(), "pytest failed:\n{stdout}\n{stderr}");
    assert!(
        !stdout.contains("skipped"),
        "pytest skipped tests:\n{stdout}"
    );
    runtime.shutdown_background();
}
