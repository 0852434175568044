//! Nothing of ours outlives `irsa-lab run --backend kind`: not the cluster's containers,
//! not kind's docker network (when the run created it), not after a failing scenario and
//! not after Ctrl-C. Each case uses a cluster name of its own, checks the cluster's
//! containers exist while the run is alive (or the test proves nothing), and that none
//! are left after it ended. `#[ignore]`d: they need Docker, kind and our images.
//!
//!   tools/ensure-docker && tools/build-kube kind kubectl && tools/build-images \
//!     && cargo test --test kind_cleanup -- --ignored

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IRSA_LAB: &str = env!("CARGO_BIN_EXE_irsa-lab");

/// One case at a time: both look at kind's one docker network, which another case's
/// cluster would keep alive.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Containers of kind cluster `name`, by kind's label.
fn containers(name: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.x-k8s.kind.cluster={name}"),
        ])
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn network_exists() -> bool {
    Command::new("docker")
        .args(["network", "inspect", "kind"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A scenario whose one expectation is wrong: the run fails at its last step.
const FAILING: &str = r#"description: the upstream guide with an expectation that cannot hold
aws:
  bucketDefaults: legacy
  oidcProviders: [{url: "https://s3.us-east-1.amazonaws.com/oidc-test"}]
  roles: [{name: s3-reader, trust: {sub: "system:serviceaccount:default:app"}}]
  buckets: [{name: oidc-test}]
webhook:
  flags: [--aws-default-region=us-east-1]
steps:
  - publish: {}
  - apply:
      - apiVersion: v1
        kind: ServiceAccount
        metadata: {name: app, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/s3-reader"}}
      - apiVersion: v1
        kind: Pod
        metadata: {name: app}
        spec: {serviceAccountName: app, containers: [{name: app, image: amazon/aws-cli}]}
  - assumeRole: {pod: app}
    expect: {error: {code: AccessDenied}}
"#;

/// Starts `irsa-lab run --backend kind --cluster NAME FILE`.
fn start(name: &str, file: &std::path::Path) -> std::process::Child {
    Command::new(IRSA_LAB)
        .args(["run", "--backend", "kind", "--cluster", name])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("irsa-lab starts")
}

/// Waits (bounded) for the child, seeing the cluster's containers at least once while it
/// runs; `interrupt_when_up` sends SIGINT as soon as they are there.
fn watch(
    name: &str,
    mut child: std::process::Child,
    interrupt_when_up: bool,
) -> (Option<i32>, bool) {
    let began = Instant::now();
    let mut seen = false;
    loop {
        if let Some(status) = child.try_wait().expect("wait works") {
            return (status.code(), seen);
        }
        if !seen && !containers(name).is_empty() {
            seen = true;
            if interrupt_when_up {
                // Let creation finish, then Ctrl-C in the middle of the scenario.
                std::thread::sleep(Duration::from_secs(20));
                let _ = Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status();
            }
        }
        if began.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            panic!("irsa-lab run --backend kind did not end within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn failing_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".yaml")
        .tempfile()
        .expect("temp file");
    file.write_all(FAILING.as_bytes()).unwrap();
    file
}

#[test]
#[ignore = "needs Docker, kind and our images: cargo test --test kind_cleanup -- --ignored"]
fn a_failing_scenario_leaves_no_cluster_and_no_network() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = "irsa-lab-cleanup-fail";
    let had_network = network_exists();
    let file = failing_file();
    let (code, seen) = watch(name, start(name, file.path()), false);
    assert!(
        seen,
        "the run's cluster was never seen: the test proves nothing"
    );
    assert_eq!(code, Some(1), "a failed expectation exits 1");
    assert_eq!(containers(name), Vec::<String>::new(), "containers left");
    if !had_network {
        assert!(!network_exists(), "kind's network was left behind");
    }
}

#[test]
#[ignore = "needs Docker, kind and our images: cargo test --test kind_cleanup -- --ignored"]
fn ctrl_c_in_the_middle_leaves_no_cluster() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = "irsa-lab-cleanup-int";
    let had_network = network_exists();
    let file = failing_file();
    let (code, seen) = watch(name, start(name, file.path()), true);
    assert!(
        seen,
        "the run's cluster was never seen: the test proves nothing"
    );
    assert_eq!(code, Some(130), "Ctrl-C exits 130");
    assert_eq!(containers(name), Vec::<String>::new(), "containers left");
    if !had_network {
        assert!(!network_exists(), "kind's network was left behind");
    }
}
