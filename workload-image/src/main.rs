//! The workload image's entry point: one report on stdout as JSON, exit 0 on success and 1 on
//! failure (so `kubectl logs` shows the answer and the pod's phase says whether it worked).

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let report = irsa_lab_workload::run().await;
    println!("{}", report.to_json());
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
