//! The workload image's entry point.
//!
//! - no arguments: one report on stdout as JSON, exit 0 on success and 1 on failure (so
//!   `kubectl logs` shows the answer and the pod's phase says whether it worked);
//! - `hold`: stay up until SIGTERM (how the kind backend runs a scenario's containers, so
//!   the kubelet keeps their projected tokens mounted);
//! - `cat PATH`: PATH's bytes on stdout (the image has no shell and no coreutils; the kind
//!   backend reads a token file with `kubectl exec ... cat`, never through logs).

use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: irsa-lab-workload [hold | cat PATH]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => report().await,
        ["hold"] => hold().await,
        ["cat", path] => cat(path),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn report() -> ExitCode {
    let report = irsa_lab_workload::run().await;
    println!("{}", report.to_json());
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// As PID 1 the process gets no default signal handling: SIGTERM must be caught, or every
/// pod deletion would wait out its grace period.
async fn hold() -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("irsa-lab-workload hold: cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    ExitCode::SUCCESS
}

fn cat(path: &str) -> ExitCode {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            // The error's kind names the problem (permission denied, not found) as a
            // container's `cat` would.
            eprintln!("cat: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
