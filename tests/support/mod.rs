//! Shared by the workspace-level tests: the `irsa-lab serve` process and the real AWS
//! clients (`aws` CLI, boto3) installed by `.ci/install-tools`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_irsa-lab");

/// `irsa-lab serve --port 0`, killed on drop.
pub struct Served {
    child: Child,
    pub endpoint: String,
}

impl Served {
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("irsa-lab serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut endpoint = None;
        for line in lines.by_ref() {
            let line = line.expect("readable stdout");
            if let Some(url) = line.trim().strip_prefix("export AWS_ENDPOINT_URL=") {
                endpoint = Some(url.to_owned());
                break;
            }
        }
        // Keep draining so the server never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            endpoint: endpoint.expect("serve printed the endpoint"),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the real clients are: `$IRSA_LAB_VENV`, else `~/.cache/irsa-lab/venv`.
pub fn venv() -> PathBuf {
    std::env::var_os("IRSA_LAB_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/irsa-lab/venv")
        })
}

/// The venv's `bin/<tool>`. The tests that need it are `#[ignore]`d, so reaching here
/// means they were asked for: a missing client fails the test, never skips it.
pub fn real_client(tool: &str) -> PathBuf {
    let path = venv().join("bin").join(tool);
    assert!(
        path.exists(),
        "{} is missing: run `bash .ci/install-tools` (or set IRSA_LAB_VENV)",
        path.display()
    );
    path
}

/// A command with a clean AWS environment pointing at `endpoint`: no profile, config or
/// credential file of the machine can leak in, and nothing can reach real AWS.
pub fn aws_env(command: &mut Command, endpoint: &str, home: &Path) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", home)
        .current_dir(home);
}

/// Runs and returns the output, panicking with stderr when it fails.
pub fn ok(command: &mut Command) -> String {
    let out = command.output().expect("command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn run(command: &mut Command) -> Output {
    command.output().expect("command runs")
}

/// `irsa-lab <args>` in `dir`.
pub fn irsa_lab(dir: &Path, args: &[&str]) -> String {
    ok(Command::new(BIN).args(args).current_dir(dir))
}
