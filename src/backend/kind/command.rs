//! The programs the kind backend drives (`kind`, our `kubectl`, `docker`), each with a
//! deadline: a command that hangs is killed and reported with what it printed, never
//! waited on forever. Children are killed when dropped, so Ctrl-C leaves none behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::AsyncWriteExt;

/// One command line.
#[derive(Debug, Clone)]
pub struct Command {
    program: PathBuf,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    /// A directory put first on PATH (the kind docker wrapper).
    path_first: Option<PathBuf>,
    current_dir: Option<PathBuf>,
    timeout: Duration,
}

impl Command {
    pub fn new(program: impl AsRef<Path>, timeout: Duration) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            stdin: None,
            path_first: None,
            current_dir: None,
            timeout,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn path_first(mut self, dir: Option<&Path>) -> Self {
        self.path_first = dir.map(Path::to_owned);
        self
    }

    /// Runs it in `dir` (kind resolves a config's relative paths against it).
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.current_dir = Some(dir.to_owned());
        self
    }

    /// How the command reads in an error: the program's name and its arguments.
    fn shown(&self) -> String {
        let name = self.program.file_name().map_or_else(
            || self.program.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        std::iter::once(name)
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs it; its stdout on success, an error with the end of stderr otherwise.
    pub async fn output(&self) -> anyhow::Result<String> {
        let bytes = self.output_bytes().await?;
        String::from_utf8(bytes).with_context(|| format!("`{}` printed non-UTF-8", self.shown()))
    }

    pub async fn output_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        if let Some(dir) = &self.path_first {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir.clone()];
            dirs.extend(std::env::split_paths(&path));
            command.env("PATH", std::env::join_paths(dirs)?);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        if let (Some(bytes), Some(mut pipe)) = (&self.stdin, child.stdin.take()) {
            pipe.write_all(bytes).await?;
            drop(pipe);
        }
        let Ok(finished) = tokio::time::timeout(self.timeout, child.wait_with_output()).await
        else {
            bail!(
                "`{}` did not finish within {} s (killed)",
                self.shown(),
                self.timeout.as_secs()
            );
        };
        let out = finished.with_context(|| format!("waiting for `{}`", self.shown()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            let tail = lines[lines.len().saturating_sub(12)..].join("\n  ");
            bail!("`{}` failed ({}):\n  {tail}", self.shown(), out.status);
        }
        Ok(out.stdout)
    }
}
