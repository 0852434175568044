//! The webhook's pod corpus (`webhook/tests/pods/`, the reference's documented behaviour
//! case by case) through a real kube-apiserver: for each case the ServiceAccount (and the
//! webhook's ConfigMap) are created through the API, our webhook binary starts with the
//! case's flags and its real watchers, is registered by a MutatingWebhookConfiguration,
//! and the pod is created through the API; the pod the apiserver stores must hold every
//! documented field. The apiserver adds its defaults (`defaultMode`, `terminationMessagePath`,
//! ...), so an expected object must be contained in the stored one, not equal to it.
//! Pods are created with `automountServiceAccountToken: false` so the ServiceAccount
//! admission plugin's `kube-api-access-*` volume does not shift the documented indexes.
//!
//!   tools/build-kube && cargo test --test webhook_corpus_on_apiserver -- --ignored

use std::path::{Path, PathBuf};
use std::sync::Arc;

use irsa_lab::backend::ClusterState;
use irsa_lab::backend::control_plane::api;
use irsa_lab::backend::control_plane::apiserver::ControlPlane;
use irsa_lab::backend::control_plane::binaries::Binaries;
use irsa_lab::backend::control_plane::webhook::OutOfClusterWebhook;
use irsa_lab::scenario::model::{Cluster, FailurePolicy, Webhook};
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    #[serde(default)]
    args: Vec<String>,
    service_account: Option<Value>,
    config_map: Option<Value>,
    cc_config: Option<Value>,
    pod: Value,
    #[serde(default)]
    expect: serde_json::Map<String, Value>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    in_range: serde_json::Map<String, Value>,
}

/// `expected` is in `actual`: every key of an object, every element of an array (same
/// length, in order), equal scalars.
fn contained(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|found| contained(v, found))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| contained(x, y))
        }
        (e, a) => e == a,
    }
}

/// Cases whose input a real apiserver never hands to a webhook, with what it does instead
/// (asserted: the stored pod or the refusal must contain this text).
const BEFORE_ADMISSION: [(&str, &str, &str); 2] = [
    (
        "18-unknown-fields",
        "the apiserver decodes pods into its types and drops unknown fields before admission",
        "\"name\": \"app\"",
    ),
    (
        "36-deprecated-service-account-field",
        "the apiserver copies the deprecated spec.serviceAccount into serviceAccountName before admission, so the pod runs as that account",
        "serviceaccount \"legacy\" not found",
    ),
];

struct Shared {
    runtime: tokio::runtime::Runtime,
    plane: ControlPlane,
    client: kube::Client,
    webhook: PathBuf,
}

fn run_case(shared: &Shared, file: &Path) -> Result<(), Failed> {
    let case: Case = serde_norway::from_str(&std::fs::read_to_string(file)?)?;
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let outcome = shared.runtime.block_on(play(shared, &case));
    match BEFORE_ADMISSION.iter().find(|(case, ..)| *case == name) {
        None => check(&case, &outcome?),
        Some((_, why, seen)) => {
            let text = match &outcome {
                Ok(stored) => serde_json::to_string_pretty(stored).unwrap_or_default(),
                Err(e) => e.message().unwrap_or_default().to_owned(),
            };
            if text.contains("futureField") {
                return Err(
                    format!("expected the apiserver to drop unknown fields ({why})").into(),
                );
            }
            if text.contains(seen) {
                Ok(())
            } else {
                Err(format!("{why}: expected {seen} in\n{text}").into())
            }
        }
    }
}

async fn play(shared: &Shared, case: &Case) -> Result<Value, Failed> {
    let client = &shared.client;
    let mut pod = case.pod.clone();
    let namespace = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    pod["metadata"]["namespace"] = json!(namespace);
    if pod["spec"]["automountServiceAccountToken"].is_null() {
        pod["spec"]["automountServiceAccountToken"] = json!(false);
    }
    // The offline corpus leaves images out; the apiserver requires them.
    for list in ["initContainers", "containers"] {
        for container in pod["spec"][list].as_array_mut().into_iter().flatten() {
            if container["image"].is_null() {
                container["image"] = json!("registry.example.com/app:1.0");
            }
        }
    }
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    api::ensure(client, "Namespace", None, ns).await?;
    // `--seed` belongs to the offline `mutate` command (a reproducible expiration draw).
    let mut flags: Vec<String> = case
        .args
        .iter()
        .filter(|a| !a.starts_with("--seed"))
        .cloned()
        .collect();
    let dir = tempfile::tempdir()?;
    let sa_name = if let Some(sa) = &case.service_account {
        let mut sa = sa.clone();
        sa["metadata"]["namespace"] = json!(namespace);
        let name = sa["metadata"]["name"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        api::apply(client, "ServiceAccount", Some(&namespace), sa).await?;
        Some(name)
    } else {
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}});
        api::ensure(client, "ServiceAccount", Some(&namespace), sa).await?;
        None
    };
    if let Some(config) = &case.config_map {
        let eks = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "eks"}});
        api::ensure(client, "Namespace", None, eks).await?;
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pod-identity-webhook", "namespace": "eks"}, "data": {"config": config.to_string()}});
        api::apply(client, "ConfigMap", Some("eks"), cm).await?;
        flags.push("--watch-config-map=true".into());
    }
    if let Some(cc) = &case.cc_config {
        let path = dir.path().join("cc.json");
        std::fs::write(&path, cc.to_string())?;
        flags.push(format!(
            "--watch-container-credentials-config={}",
            path.display()
        ));
    }
    // Started after its objects exist: its first list holds them.
    let setup = Webhook {
        flags,
        failure_policy: FailurePolicy::Fail,
        ..Webhook::default()
    };
    let webhook = OutOfClusterWebhook::start(&shared.plane, &shared.webhook, &setup)
        .await
        .map_err(|e| format!("{:#}", anyhow::Error::from(e)))?;
    let name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let created = api::create(client, "Pod", Some(&namespace), pod).await;
    webhook.stop().await;
    // Leave nothing for the next case.
    let _ = api::delete(client, "Pod", &namespace, &name).await;
    if let Some(sa) = &sa_name {
        let _ = api::delete(client, "ServiceAccount", &namespace, sa).await;
    }
    if case.config_map.is_some() {
        let _ = api::delete(client, "ConfigMap", "eks", "pod-identity-webhook").await;
    }
    Ok(created.map_err(|e| format!("the apiserver refused the pod: {e}"))?)
}

/// The case's documented fields in the stored pod.
fn check(case: &Case, stored: &Value) -> Result<(), Failed> {
    let shown = || serde_json::to_string_pretty(&stored).unwrap_or_default();
    for (pointer, expected) in &case.expect {
        let found = stored.pointer(pointer);
        if !found.is_some_and(|f| contained(expected, f)) {
            return Err(format!(
                "{pointer}: expected {expected}, stored {found:?}\n{}",
                shown()
            )
            .into());
        }
    }
    for pointer in &case.absent {
        if stored.pointer(pointer).is_some() {
            return Err(format!("{pointer} should be absent\n{}", shown()).into());
        }
    }
    for (pointer, range) in &case.in_range {
        let got = stored
            .pointer(pointer)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("{pointer} missing\n{}", shown()))?;
        let (lo, hi) = (
            range[0].as_i64().unwrap_or(i64::MIN),
            range[1].as_i64().unwrap_or(i64::MAX),
        );
        if !(lo..=hi).contains(&got) {
            return Err(format!("{pointer} = {got} not in [{lo}, {hi}]").into());
        }
    }
    Ok(())
}

fn start() -> Result<Shared, String> {
    let binaries = Binaries::locate().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let cluster = ClusterState::new(&Cluster::default());
    let webhook = binaries.webhook.clone();
    let plane = runtime
        .block_on(ControlPlane::start(&cluster, binaries))
        .map_err(|e| format!("{e:#}"))?;
    let client = runtime
        .block_on(plane.client())
        .map_err(|e| format!("{e:#}"))?;
    Ok(Shared {
        runtime,
        plane,
        client,
        webhook,
    })
}

fn main() {
    let mut args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("webhook/tests/pods");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("webhook/tests/pods exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let wanted = args.ignored || args.include_ignored;
    if !wanted {
        eprintln!(
            "webhook corpus on a real apiserver: {} cases ignored; run them with\n  tools/build-kube && cargo test --test webhook_corpus_on_apiserver -- --ignored",
            files.len()
        );
    }
    // One apiserver for every case, one case at a time (each registers its webhook).
    args.test_threads = Some(1);
    let shared = if wanted {
        Some(start().map(Arc::new))
    } else {
        None
    };
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let shared = shared.clone();
            Trial::test(name, move || match shared {
                Some(Ok(shared)) => run_case(&shared, &path),
                Some(Err(error)) => Err(format!("the control plane did not start: {error}").into()),
                None => Ok(()),
            })
            .with_ignored_flag(true)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(Ok(shared)) = shared
        && let Ok(shared) = Arc::try_unwrap(shared)
    {
        let Shared { runtime, plane, .. } = shared;
        runtime.block_on(plane.stop());
    }
    conclusion.exit();
}
