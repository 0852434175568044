//! `irsa-lab run`: the self-hosted IRSA chain end to end, in-process, over real HTTP.
//!
//! Every step states what it expects; the run fails (exit 1) when any step's outcome
//! differs, so it doubles as a smoke test of the whole chain. The emulator runs on a
//! virtual clock, which is what lets the cache and expiry steps advance time instantly.

mod aws_client;
mod lab;
mod steps;
mod webhook;

use std::io::Write;
use std::process::ExitCode;

pub use lab::WalkthroughLab;
pub use steps::{Outcome, StepReport};

/// Runs the walkthrough, printing each step to `out`. Returns how many steps missed
/// their expectation.
pub async fn run_to(out: &mut impl Write) -> anyhow::Result<usize> {
    let lab = WalkthroughLab::start().await?;
    writeln!(
        out,
        "irsa-lab run: the self-hosted IRSA chain, end to end, on this machine"
    )?;
    writeln!(
        out,
        "fake AWS (STS, IAM, S3) listening on {}",
        lab.endpoint()
    )?;
    writeln!(out)?;
    let mut failures = 0;
    for (index, report) in steps::all(&lab).await?.into_iter().enumerate() {
        let mark = if report.as_expected { "ok  " } else { "FAIL" };
        writeln!(out, "{mark} {:>2}. {}", index + 1, report.title)?;
        for line in &report.lines {
            writeln!(out, "          {line}")?;
        }
        if !report.as_expected {
            writeln!(out, "          expected: {}", report.expected)?;
            failures += 1;
        }
    }
    writeln!(out)?;
    if failures == 0 {
        writeln!(
            out,
            "every step behaved as on AWS; `irsa-lab serve` runs the same emulator for your own clients"
        )?;
    } else {
        writeln!(out, "{failures} step(s) did not behave as expected")?;
    }
    lab.stop().await;
    Ok(failures)
}

/// Entry point of `irsa-lab run`.
pub fn run() -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    let failures = runtime.block_on(async { run_to(&mut std::io::stdout().lock()).await })?;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
