//! The processes a control plane is made of. Each is killed when its handle is dropped, so
//! nothing outlives the run: not on success, not on a failing step, not on a panic
//! (unwinding drops the backend), not on Ctrl-C (`irsa-lab run` drops the run). Output goes
//! to a log file in the run's directory; the tail is shown when a process dies or is slow.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How often readiness is probed.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// Lines of the log shown with a failure.
const TAIL_LINES: usize = 15;

/// A running child process of ours.
#[derive(Debug)]
pub struct Managed {
    name: &'static str,
    child: tokio::process::Child,
    log: PathBuf,
}

impl Managed {
    /// Starts `program args...`, output to `log`.
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        let out = std::fs::File::create(&log)
            .with_context(|| format!("creating the log file {}", log.display()))?;
        let err = out.try_clone()?;
        let child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        Ok(Self { name, child, log })
    }

    /// The operating system's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }

    /// Waits until `ready` says so, failing when the process exits or `timeout` passes.
    pub async fn wait_ready<F, Fut>(
        &mut self,
        timeout: Duration,
        mut ready: F,
    ) -> anyhow::Result<Duration>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let began = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before it was ready; the end of its log ({}):\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail()
                );
            }
            if ready().await {
                return Ok(began.elapsed());
            }
            if began.elapsed() > timeout {
                bail!(
                    "{} was not ready after {} s; the end of its log ({}):\n{}",
                    self.name,
                    timeout.as_secs(),
                    self.log.display(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    /// Kills the process and reaps it.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// A free TCP port on 127.0.0.1 (bound then released: the process binds it next).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
