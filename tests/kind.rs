//! The kind tier: the library on a real kind cluster (kubeadm's apiserver with each
//! scenario's flags, our webhook deployed in the cluster, the real scheduler and kubelet),
//! each transcript compared with the emulated snapshot in `tests/snapshots/`. One named
//! test per scenario, `#[ignore]`d: they need Docker, kind, kubectl and our images.
//!
//!   tools/ensure-docker && tools/build-kube kind kubectl && tools/build-images \
//!     && cargo test --test kind -- --ignored
//!   (air-gapped: tools/build-node-image first; IRSA_LAB_KIND_KEEP=1 leaves the cluster up)
//!
//! By default it runs the scenarios the kind tier is for (the seed guides, key rotation,
//! the pre-1.16 empty-kid upgrade, audience and trust-policy failures, the webhook's own
//! failure modes): [`TIER`]. `IRSA_LAB_KIND_ALL=1` runs the whole library (long: each
//! distinct set of apiserver flags is a static-pod restart, about 35 s with the clients'
//! reconnection).
//!
//! One cluster serves every scenario, one scenario at a time (they reuse object names). It
//! is created before the first test and deleted after the last, passing or failing. The
//! one expected difference is the `node` claim, which names the kind node where the
//! emulated kubelet's says `node-1`: it is mapped before the comparison.

mod tier;

use std::path::Path;

use irsa_lab::backend::kind::KindBackend;
use irsa_lab::backend::kind::cluster::{self, KindCluster, Options};
use irsa_lab::runner::{Quiet, run_scenario};
use irsa_lab::scenario::limits::BackendKind;
use irsa_lab::scenario::load;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const CLUSTER: &str = "irsa-lab-tier";
/// The scenarios CI runs on kind: every seed guide, rotation, the empty-kid upgrade,
/// audiences, trust policies and the webhook's failures. (`charmed-guide` and
/// `upstream-guide-old-trailing-slash` were left out while pods took up to 89 s to start
/// after an apiserver restart; `backend::kind::components` now restarts the cluster's own
/// clients after each, and both pass.)
const TIER: &[&str] = &[
    // The seed guides.
    "upstream-guide",
    "upstream-guide-acls-disabled",
    "upstream-guide-old-trailing-slash",
    "charmed-guide",
    "charmed-without-jwks-uri",
    "self-managed-apiserver-issuer",
    "apiserver-issuer-without-anonymous-discovery",
    // Key rotation, and the empty-kid upgrade (declared not playable: one version is built).
    "rotation-safe",
    "rotation-signer-before-republish",
    "rotation-old-key-removed-early",
    "pre-1-16-empty-kid-bridge",
    // Audiences.
    "audience-annotation-not-a-client-id",
    "wrong-client-id-sts-amazon-com",
    // Trust policies.
    "trust-policy-wrong-namespace",
    "trust-policy-two-clusters-one-block",
    "federated-without-arn-prefix",
    // The webhook's own failures.
    "webhook-not-registered",
    "webhook-down-fail-closed",
    "pod-not-mutated",
];
/// The emulated kubelet's node.
const EMULATED_NODE: &str = "node-1";

/// `node` claims (and any other mention of the node) as the emulated backend names it.
fn map_node(value: &mut Value, node: &str) {
    match value {
        Value::String(s) if s == node => *s = EMULATED_NODE.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|v| map_node(v, node)),
        Value::Object(map) => map.values_mut().for_each(|v| map_node(v, node)),
        _ => {}
    }
}

fn run_one(path: &Path, cluster: &Result<KindCluster, String>) -> Result<(), Failed> {
    let cluster = cluster
        .as_ref()
        .map_err(|e| format!("the kind tier has no cluster: {e}"))?;
    let loaded = load(path).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(run_scenario::<KindBackend>(&loaded, &mut Quiet))
        .map_err(|e| {
            format!(
                "{}: the kind backend could not run it: {e:#}",
                path.display()
            )
        })?;
    let mut transcript = report.transcript.clone();
    map_node(&mut transcript, &cluster.node);
    tier::judge(&loaded, &report, &transcript, BackendKind::Kind)
}

fn main() {
    // What the slow parts took (apiserver restarts, rollouts, pod starts), as the tier goes;
    // RUST_LOG=irsa_lab=debug says more.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,irsa_lab::backend::kind=info")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let mut args = Arguments::from_args();
    // Same apiserver and webhook flags together: one restart and one rollout for them all.
    let mut files = tier::scenario_files();
    files.sort_by_cached_key(|path| {
        let key = load(path)
            .map(|s| irsa_lab::backend::kind::setup_key(&s))
            .unwrap_or_default();
        (key, tier::stem(path))
    });
    let all = std::env::var_os("IRSA_LAB_KIND_ALL").is_some();
    let names: Vec<String> = files.iter().map(|p| tier::stem(p)).collect();
    let unknown: Vec<&&str> = TIER
        .iter()
        .filter(|t| !names.iter().any(|n| n == **t))
        .collect();
    assert!(
        unknown.is_empty(),
        "TIER names scenarios that do not exist: {unknown:?}"
    );
    if !all {
        files.retain(|p| TIER.contains(&tier::stem(p).as_str()));
        eprintln!(
            "kind tier: {} of {} scenarios (IRSA_LAB_KIND_ALL=1 runs them all)",
            files.len(),
            names.len()
        );
    }
    let running = (args.ignored || args.include_ignored) && !args.list;
    if !running {
        eprintln!(
            "kind tier: {} scenarios ignored (they need Docker and a kind cluster); run them with\n  tools/ensure-docker && tools/build-kube kind kubectl && tools/build-images && cargo test --test kind -- --ignored",
            files.len()
        );
    }
    // One cluster: one scenario at a time.
    args.test_threads = Some(1);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let say = |line: &str| eprintln!("[kind tier] {line}");
    let keep = std::env::var_os("IRSA_LAB_KIND_KEEP").is_some();
    let cluster: std::sync::Arc<Result<KindCluster, String>> = std::sync::Arc::new(if running {
        let began = std::time::Instant::now();
        let opened = runtime
            .block_on(cluster::open(CLUSTER, &Options::default(), keep, &say))
            .map_err(|e| format!("{e:#}"));
        say(&format!(
            "cluster ready after {:.0} s",
            began.elapsed().as_secs_f64()
        ));
        opened
    } else {
        Err("not opened".into())
    });
    let trials = files
        .into_iter()
        .map(|path| {
            let cluster = cluster.clone();
            Trial::test(tier::stem(&path), move || run_one(&path, &cluster)).with_ignored_flag(true)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if running {
        runtime.block_on(cluster::close(&say));
    }
    tier::summary(BackendKind::Kind);
    conclusion.exit();
}
