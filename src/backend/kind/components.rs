//! The cluster's own components across the apiserver restarts of a run: every one of them
//! is a client of kube-apiserver, and each scenario with new service-account flags
//! restarts it (see [`super::apiserver`]).
//!
//! Their informers reconnect through client-go's reflector backoff (800 ms doubling to
//! 30 s, up to twice that with jitter, reset only after 2 quiet minutes). An apiserver away
//! for 15–25 s leaves them sleeping for up to a minute after it is back, longer after a
//! second restart within two minutes: measured here, a pod took 49–89 s to start right
//! after a restart and 1–1.6 s otherwise, and in-cluster clients could not reach the
//! `kubernetes` Service for 18–20 s (the old apiserver removes its endpoint as it stops;
//! kube-proxy's watch sleeps through the new one adding it back). So after a restart the
//! harness starts them afresh, as an admin would after changing the apiserver: the
//! scheduler and the controller-manager by touching their manifests, kube-proxy by
//! deleting its pod, the kubelet with systemd.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::apiserver::Restarted;
use super::cluster::KindCluster;
use crate::backend::control_plane::api;

const EXEC: Duration = Duration::from_secs(30);
/// The kubelet's static pod directory (kubeadm's).
const MANIFESTS: &str = "/etc/kubernetes/manifests";
/// How long the kubelet may take to restart a static pod on 2 busy cores.
const RESTART: Duration = Duration::from_secs(180);
/// On the scheduler's and the controller-manager's manifests: the apiserver flags they
/// were (re)started after.
const ANNOTATION: &str = "irsa-lab.dev/started-after-apiserver";

/// The static pods that elect a leader: on one node there is nothing to elect, and an
/// elected one exits when the apiserver is away longer than its lease (every restart
/// here), then sits in CrashLoopBackOff for minutes: no pod is scheduled meanwhile.
/// With the port of each one's `/healthz`.
const ELECTING: &[(&str, u16)] = &[
    ("kube-scheduler", 10259),
    ("kube-controller-manager", 10257),
];

/// Turns leader election off in the scheduler and the controller-manager (once per
/// cluster; the kubelet restarts them) and waits until both are Ready.
pub async fn steady_components(node: &KindCluster, client: &kube::Client) -> anyhow::Result<()> {
    for (name, _) in ELECTING {
        edit_static_pod(node, name, |manifest| {
            let command = manifest["spec"]["containers"][0]["command"]
                .as_array_mut()
                .with_context(|| format!("the {name} manifest has no command"))?;
            if command.iter().any(|a| a == "--leader-elect=false") {
                return Ok(false);
            }
            command.retain(|a| !a.as_str().is_some_and(|a| a.starts_with("--leader-elect=")));
            command.push(json!("--leader-elect=false"));
            Ok(true)
        })
        .await?;
    }
    let began = Instant::now();
    while began.elapsed() < RESTART {
        let mut ready = 0;
        for (name, _) in ELECTING {
            let pod = format!("{name}-{}", node.node);
            if let Ok(pod) = api::get(client, "Pod", Some("kube-system"), &pod).await {
                let flagged = pod["spec"]["containers"][0]["command"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|a| a == "--leader-elect=false"));
                if flagged && is_ready(&pod) {
                    ready += 1;
                }
            }
        }
        if ready == ELECTING.len() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "kube-scheduler and kube-controller-manager were not Ready within {} s of turning leader election off",
        RESTART.as_secs()
    )
}

/// Which clients to start afresh after an apiserver restart. The kubelet and kube-proxy
/// hold service-account tokens (a restarted kubelet asks for every pod's token again, a
/// new kube-proxy pod gets one): they are restarted only when the apiserver signs with
/// kubeadm's key, which every later set of flags keeps accepting. A kubelet restart also
/// rewrites the tokens of running pods, so within a scenario it waits until none of the
/// scenario's pods runs (the kind backend's `start_pod`).
#[derive(Debug, Clone, Copy)]
pub struct Reconnect {
    pub kubelet: bool,
    pub kube_proxy: bool,
}

impl Reconnect {
    /// What may restart after `restarted`; `pods_run`: the scenario's pods are running.
    pub fn after(restarted: &Restarted, pods_run: bool) -> Self {
        Self {
            kubelet: restarted.signs_with_kubeadm_key && !pods_run,
            kube_proxy: restarted.signs_with_kubeadm_key,
        }
    }
}

/// Starts the cluster's own clients afresh after the apiserver came back with the flags
/// named `hash` (see the module's comment), and waits until each serves again.
pub async fn reconnect(
    node: &KindCluster,
    client: &kube::Client,
    hash: &str,
    which: Reconnect,
) -> anyhow::Result<()> {
    let began = Instant::now();
    if which.kubelet {
        restart_kubelet(node).await?;
    }
    for (name, _) in ELECTING {
        edit_static_pod(node, name, |manifest| {
            let before = manifest["metadata"]["annotations"][ANNOTATION].clone();
            manifest["metadata"]["annotations"][ANNOTATION] = json!(hash);
            Ok(before != hash)
        })
        .await?;
    }
    for (name, port) in ELECTING {
        wait_restarted(node, client, name, hash, *port).await?;
    }
    if which.kube_proxy {
        restart_kube_proxy(node, client).await?;
    }
    tracing::info!(
        seconds = began.elapsed().as_secs_f32(),
        kubelet = which.kubelet,
        kube_proxy = which.kube_proxy,
        "the cluster's components reconnected to the new kube-apiserver"
    );
    Ok(())
}

/// Restarts the kubelet (its containers keep running) and waits for its `/healthz`. Only
/// when the apiserver signs with kubeadm's key and no scenario pod runs (see [`Reconnect`]).
pub async fn restart_kubelet(node: &KindCluster) -> anyhow::Result<()> {
    let began = Instant::now();
    node.node_exec(["systemctl", "restart", "kubelet"], EXEC)
        .output()
        .await
        .context("restarting the kubelet")?;
    wait_healthy(node, "the kubelet", "http://127.0.0.1:10248/healthz").await?;
    tracing::info!(
        seconds = began.elapsed().as_secs_f32(),
        "the kubelet restarted"
    );
    Ok(())
}

/// Until the mirror pod of `name` carries `hash` (the kubelet makes it once the old pod
/// is gone) and the new process's `/healthz` answers.
async fn wait_restarted(
    node: &KindCluster,
    client: &kube::Client,
    name: &str,
    hash: &str,
    port: u16,
) -> anyhow::Result<()> {
    let mirror = format!("{name}-{}", node.node);
    let began = Instant::now();
    while began.elapsed() < RESTART {
        let ours = api::get(client, "Pod", Some("kube-system"), &mirror)
            .await
            .is_ok_and(|pod| pod["metadata"]["annotations"][ANNOTATION] == hash);
        if ours {
            return wait_healthy(node, name, &format!("https://127.0.0.1:{port}/healthz")).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "the kubelet did not restart {name} within {} s of its manifest changing",
        RESTART.as_secs()
    )
}

/// Deletes kube-proxy's pod (its DaemonSet makes a new one) and waits until the new one
/// reports its rules in sync.
async fn restart_kube_proxy(node: &KindCluster, client: &kube::Client) -> anyhow::Result<()> {
    let pods: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client.clone(), "kube-system", &api::resource("Pod"));
    let params = kube::api::ListParams::default().labels("k8s-app=kube-proxy");
    let old: Vec<String> = pods
        .list(&params)
        .await
        .context("listing kube-proxy's pods")?
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    for name in &old {
        api::delete(client, "Pod", "kube-system", name)
            .await
            .with_context(|| format!("deleting kube-proxy's pod {name}"))?;
    }
    let began = Instant::now();
    while began.elapsed() < RESTART {
        let list = pods
            .list(&params)
            .await
            .context("listing kube-proxy's pods")?;
        let running = list.items.iter().any(|p| {
            p.metadata.name.as_ref().is_some_and(|n| !old.contains(n))
                && p.metadata.deletion_timestamp.is_none()
                && p.data["status"]["phase"] == "Running"
        });
        if running {
            return wait_healthy(node, "kube-proxy", "http://127.0.0.1:10256/healthz").await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "kube-proxy's DaemonSet did not run a new pod within {} s of the old one's deletion",
        RESTART.as_secs()
    )
}

/// Until `url` answers 200 from inside the node.
async fn wait_healthy(node: &KindCluster, what: &str, url: &str) -> anyhow::Result<()> {
    let began = Instant::now();
    let mut last = String::from("no answer yet");
    while began.elapsed() < RESTART {
        match node
            .node_exec(["curl", "-fsSk", "--max-time", "2", url], EXEC)
            .output()
            .await
        {
            Ok(_) => return Ok(()),
            Err(error) => last = format!("{error:#}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "{what} did not answer {url} within {} s ({last})",
        RESTART.as_secs()
    )
}

/// Rewrites the static pod manifest of `name` when `edit` says it changed it.
async fn edit_static_pod(
    node: &KindCluster,
    name: &str,
    edit: impl FnOnce(&mut Value) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let mut manifest = read_static_pod(node, name).await?;
    if edit(&mut manifest)? {
        write_static_pod(node, name, &manifest).await?;
    }
    Ok(())
}

/// The static pod manifest of `name` (`/etc/kubernetes/manifests/NAME.yaml`) in the node.
pub(super) async fn read_static_pod(node: &KindCluster, name: &str) -> anyhow::Result<Value> {
    let path = format!("{MANIFESTS}/{name}.yaml");
    let text = node
        .node_exec(["cat", &path], EXEC)
        .output()
        .await
        .with_context(|| format!("reading the {name} static pod manifest"))?;
    serde_norway::from_str(&text).with_context(|| format!("the {name} manifest does not parse"))
}

/// Replaces the static pod manifest of `name`: written beside, then moved, so the kubelet
/// never reads half a manifest.
pub(super) async fn write_static_pod(
    node: &KindCluster,
    name: &str,
    manifest: &Value,
) -> anyhow::Result<()> {
    let new = serde_json::to_string_pretty(manifest)?;
    let staged = format!("/etc/kubernetes/irsa-lab-{name}.json");
    node.node_exec(
        [
            "sh",
            "-c",
            &format!("cat > {staged} && mv {staged} {MANIFESTS}/{name}.yaml"),
        ],
        EXEC,
    )
    .stdin(new)
    .output()
    .await
    .with_context(|| format!("writing the {name} manifest"))?;
    Ok(())
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}
