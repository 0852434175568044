//! The built-in walkthrough (being written).
pub fn run() -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not built yet")
}
