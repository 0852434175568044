//! `irsa-lab run`: the built-in end-to-end walkthrough.

use std::process::ExitCode;

use clap::Args;

/// Run the self-hosted IRSA setup guide end to end, in-process, and show AWS's answers.
#[derive(Debug, Args)]
pub struct RunArgs {}

pub fn run(_args: RunArgs) -> anyhow::Result<ExitCode> {
    crate::walkthrough::run()
}
