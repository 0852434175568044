//! No process of ours outlives a control-plane run: not after a passing run, a failing
//! scenario, a panic, or SIGINT to `irsa-lab run`. Each case runs the backend with TMPDIR
//! set to a fresh directory, so every process it starts names that directory on its
//! command line (data dirs, key files, logs), and looks for such processes in /proc while
//! the run is alive (they must be there, or the test proves nothing) and after it ended.
//! `#[ignore]`d: they need the binaries `tools/build-kube` builds.
//!
//!   tools/build-kube && cargo test --test control_plane_cleanup -- --ignored

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use irsa_lab::backend::control_plane::ControlPlaneBackend;
use irsa_lab::runner::run_scenario;
use irsa_lab::scenario::load;

const IRSA_LAB: &str = env!("CARGO_BIN_EXE_irsa-lab");
/// Set for the child test that panics on purpose.
const PANIC_HELPER: &str = "IRSA_LAB_CLEANUP_PANIC_HELPER";

/// Pids of live processes whose command line mentions `marker`.
fn ours(marker: &Path) -> Vec<u32> {
    let marker = marker.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // A zombie is gone already; its parent has not reaped it yet.
        let zombie = state
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(&marker) {
            found.push(pid);
        }
    }
    found
}

/// Waits (bounded) until no process mentions `marker`; returns those still alive.
fn left_after(marker: &Path) -> Vec<u32> {
    let began = Instant::now();
    loop {
        let left = ours(marker);
        if left.is_empty() || began.elapsed() > Duration::from_secs(15) {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn require_binaries() {
    if let Err(missing) = irsa_lab::backend::control_plane::binaries::Binaries::locate() {
        panic!("the control-plane cleanup tests need real binaries: {missing}");
    }
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .display()
        .to_string()
}

/// Runs `irsa-lab run --backend control-plane FILE` to its end, counting our processes
/// while it runs; returns (exit code, most processes seen at once, processes left).
fn run_to_end(file: &str) -> (Option<i32>, usize, Vec<u32>) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(IRSA_LAB)
        .args(["run", "--backend", "control-plane", file])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("irsa-lab starts");
    let mut most = 0;
    let status = loop {
        most = most.max(ours(tmp.path()).len());
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), most, left_after(tmp.path()))
}

#[test]
#[ignore = "needs etcd and kube-apiserver: tools/build-kube, then cargo test --test control_plane_cleanup -- --ignored"]
fn no_process_is_left_after_a_passing_run() {
    require_binaries();
    let (code, most, left) = run_to_end(&scenario("upstream-guide.yaml"));
    assert_eq!(code, Some(0), "the scenario passes");
    assert!(
        most >= 3,
        "etcd, kube-apiserver and the webhook ran (seen {most})"
    );
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
#[ignore = "needs etcd and kube-apiserver: tools/build-kube, then cargo test --test control_plane_cleanup -- --ignored"]
fn no_process_is_left_after_a_failing_scenario() {
    require_binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("fails.yaml");
    let text = std::fs::read_to_string(scenario("upstream-guide.yaml"))
        .expect("the library scenario")
        .replace("assumed-role/s3-reader/", "assumed-role/another-role/");
    std::fs::write(&file, text).expect("write the scenario");
    let (code, most, left) = run_to_end(&file.display().to_string());
    assert_eq!(code, Some(1), "an expectation fails");
    assert!(
        most >= 3,
        "etcd, kube-apiserver and the webhook ran (seen {most})"
    );
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
#[ignore = "needs etcd and kube-apiserver: tools/build-kube, then cargo test --test control_plane_cleanup -- --ignored"]
fn no_process_is_left_after_sigint() {
    require_binaries();
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(IRSA_LAB)
        .args(["run", "--backend", "control-plane"])
        .arg(scenario("upstream-guide.yaml"))
        .arg(scenario("rotation-safe.yaml"))
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("irsa-lab starts");
    let began = Instant::now();
    // Interrupt once the whole control plane is up (etcd, kube-apiserver, webhook).
    while ours(tmp.path()).len() < 3 {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "the control plane never came up"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "irsa-lab ended before SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let output = child.wait_with_output().expect("irsa-lab exits");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "stdout: {stdout}");
    assert!(stdout.contains("interrupted"), "stdout: {stdout}");
    let left = left_after(tmp.path());
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
#[ignore = "needs etcd and kube-apiserver: tools/build-kube, then cargo test --test control_plane_cleanup -- --ignored"]
fn no_process_is_left_after_a_panic() {
    require_binaries();
    let tmp = tempfile::tempdir().expect("temp dir");
    // This same test binary, running only the helper below, which panics mid-scenario.
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "panic_helper", "--ignored", "--nocapture"])
        .env(PANIC_HELPER, "1")
        .env("TMPDIR", tmp.path())
        .output()
        .expect("the helper runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "the helper panics: {stdout}");
    let seen: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("processes before the panic: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("the helper did not get to its panic: {stdout}"));
    assert!(
        seen >= 3,
        "etcd, kube-apiserver and the webhook ran (seen {seen})"
    );
    let left = left_after(tmp.path());
    assert!(left.is_empty(), "left running: {left:?}");
}

/// Not a test of its own: `no_process_is_left_after_a_panic` runs it in a child process.
#[test]
#[ignore = "run by no_process_is_left_after_a_panic"]
fn panic_helper() {
    if std::env::var_os(PANIC_HELPER).is_none() {
        return;
    }
    let loaded = load(Path::new(&scenario("upstream-guide.yaml"))).expect("the scenario loads");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = std::env::temp_dir();
    runtime.block_on(async {
        struct Panicking(std::path::PathBuf);
        impl irsa_lab::runner::Progress for Panicking {
            fn step(&mut self, _report: &irsa_lab::runner::StepReport) {
                println!("processes before the panic: {}", ours(&self.0).len());
                panic!("a bug in the middle of a scenario");
            }
        }
        let _ = run_scenario::<ControlPlaneBackend>(&loaded, &mut Panicking(tmp)).await;
    });
}
