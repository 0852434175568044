//! The apiserver's service-account flags on a kind node, set as a kubeadm admin sets them:
//! the key files copied into the node, the static pod manifest
//! (`/etc/kubernetes/manifests/kube-apiserver.yaml`) edited in place, and a wait for the
//! kubelet to replace the apiserver. The manifest carries a hash of the flags, so a
//! scenario whose flags the running apiserver already has costs nothing.
//!
//! The cluster's own pods (kube-proxy, CoreDNS, the controller-manager's controllers, our
//! webhook) hold tokens issued under earlier flags. An admin who changes the issuer keeps
//! the old one accepted (a second `--service-account-issuer`: the documented migration
//! path) for exactly this reason, and so does the harness: every issuer this cluster had
//! stays accepted after the scenario's own, kubeadm's audience stays among the
//! `--api-audiences` and kubeadm's key among the verification keys. Tokens the scenario's
//! pods get are unchanged by this (issuer, signer and explicit audiences are the
//! scenario's); a TokenRequest with no audience gets kubeadm's among its defaults.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::cluster::KindCluster;
use super::components::{read_static_pod, write_static_pod};
use irsa_emulator::issuer::PublicKey;

use crate::backend::ClusterState;
use crate::backend::apiserver_flags::{
    ServiceAccountFlags, is_service_account_flag, service_account_flags,
};
use crate::backend::control_plane::api;

/// The static pod (`/etc/kubernetes/manifests/kube-apiserver.yaml`).
const NAME: &str = "kube-apiserver";
/// Where the key files go in the node (a hostPath volume of the static pod).
const KEY_ROOT: &str = "/etc/irsa-lab/keys";
const VOLUME: &str = "irsa-lab-keys";
/// On the manifest and so on the mirror pod: which flags this apiserver runs with.
const ANNOTATION: &str = "irsa-lab.dev/service-account-flags";
/// The kubelet stops the old apiserver and starts the new one; on 2 busy cores this has
/// taken up to a minute.
const RESTART: Duration = Duration::from_secs(180);
const EXEC: Duration = Duration::from_secs(30);

/// kubeadm's issuer and audience (its default for the `cluster.local` domain kind uses).
const KUBEADM_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// kubeadm's service-account public key in the node.
const KUBEADM_KEY: &str = "/etc/kubernetes/pki/sa.pub";

/// What keeps the cluster's own tokens valid (see the module's comment).
#[derive(Debug, Clone, Default)]
struct Compatibility {
    /// Issuers the running apiserver accepts.
    previous_issuers: Vec<String>,
    /// Whether kubeadm's key must be added (the scenario does not verify with it).
    kubeadm_key: bool,
}

impl Compatibility {
    fn apply(&self, cluster: &ClusterState, flags: &mut ServiceAccountFlags) {
        let last_issuer = flags
            .args
            .iter()
            .rposition(|a| a.starts_with("--service-account-issuer="))
            .map_or(flags.args.len(), |i| i + 1);
        let extra: Vec<String> = std::iter::once(KUBEADM_ISSUER.to_owned())
            .chain(self.previous_issuers.iter().cloned())
            .filter(|i| !cluster.issuers.contains(i))
            .fold(Vec::new(), |mut seen, i| {
                if !seen.contains(&i) {
                    seen.push(i);
                }
                seen
            });
        for (offset, issuer) in extra.iter().enumerate() {
            flags.args.insert(
                last_issuer + offset,
                format!("--service-account-issuer={issuer}"),
            );
        }
        let mut audiences = cluster.api_audiences();
        if !audiences.iter().any(|a| a == KUBEADM_ISSUER) {
            audiences.push(KUBEADM_ISSUER.to_owned());
        }
        flags.args.retain(|a| !a.starts_with("--api-audiences="));
        flags
            .args
            .push(format!("--api-audiences={}", audiences.join(",")));
        if self.kubeadm_key {
            flags
                .args
                .push(format!("--service-account-key-file={KUBEADM_KEY}"));
        }
    }
}

/// The `--service-account-issuer` values of a manifest.
fn issuers_of(manifest: &Value) -> Vec<String> {
    manifest["spec"]["containers"][0]["command"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str()?.strip_prefix("--service-account-issuer="))
        .map(str::to_owned)
        .collect()
}

/// The flags of `cluster` with key files under a directory named by their hash.
fn flags_for(
    cluster: &ClusterState,
    compatibility: &Compatibility,
) -> (String, ServiceAccountFlags) {
    let mut draft = service_account_flags(cluster, KEY_ROOT);
    compatibility.apply(cluster, &mut draft);
    // Names a directory, not a secret: SHA-1 is plenty.
    let mut digest = Sha1::new();
    for (name, contents) in &draft.files {
        digest.update(name.as_bytes());
        digest.update(contents.as_bytes());
    }
    for arg in &draft.args {
        digest.update(arg.as_bytes());
    }
    let hash = hex::encode(&digest.finalize()[..8]);
    let mut flags = service_account_flags(cluster, &format!("{KEY_ROOT}/{hash}"));
    compatibility.apply(cluster, &mut flags);
    (hash, flags)
}

/// The manifest with `flags` in place of the service-account flags it had.
fn edited(mut manifest: Value, hash: &str, flags: &ServiceAccountFlags) -> anyhow::Result<Value> {
    let container = manifest["spec"]["containers"]
        .get_mut(0)
        .context("the kube-apiserver manifest has no container")?;
    let command = container["command"]
        .as_array_mut()
        .context("the kube-apiserver manifest's container has no command")?;
    command.retain(|a| !a.as_str().is_some_and(is_service_account_flag));
    command.extend(flags.args.iter().map(|a| json!(a)));
    let mounts = container["volumeMounts"]
        .as_array_mut()
        .context("the kube-apiserver container has no volumeMounts")?;
    if !mounts.iter().any(|m| m["name"] == VOLUME) {
        mounts.push(json!({"name": VOLUME, "mountPath": KEY_ROOT, "readOnly": true}));
    }
    let volumes = manifest["spec"]["volumes"]
        .as_array_mut()
        .context("the kube-apiserver manifest has no volumes")?;
    if !volumes.iter().any(|v| v["name"] == VOLUME) {
        volumes.push(
            json!({"name": VOLUME, "hostPath": {"path": KEY_ROOT, "type": "DirectoryOrCreate"}}),
        );
    }
    // kubeadm's startup probe first looks after 10 s and then every 10 s, and readiness
    // waits for it: each restart would cost up to 20 s of nothing. Probed every second, the
    // apiserver is Ready when it is.
    let container = &mut manifest["spec"]["containers"][0];
    if let Some(probe) = container
        .get_mut("startupProbe")
        .and_then(Value::as_object_mut)
    {
        probe.insert("initialDelaySeconds".into(), json!(0));
        probe.insert("periodSeconds".into(), json!(1));
        probe.insert("failureThreshold".into(), json!(240));
    }
    // The old apiserver's graceful shutdown holds the port for the pod's grace period (30 s
    // by default) before the new one can start; nothing here needs draining.
    manifest["spec"]["terminationGracePeriodSeconds"] = json!(2);
    manifest["metadata"]["annotations"][ANNOTATION] = json!(hash);
    Ok(manifest)
}

/// What [`configure`] did when the apiserver had other flags.
#[derive(Debug, Clone)]
pub struct Restarted {
    /// Names the new flags (the manifest's annotation).
    pub hash: String,
    /// Whether the new apiserver signs with kubeadm's key (every later one accepts it).
    pub signs_with_kubeadm_key: bool,
}

/// Gives the node's apiserver `cluster`'s flags. Returns what the restart was, or `None`
/// when it already had them.
pub async fn configure(
    node: &KindCluster,
    client: &kube::Client,
    cluster: &ClusterState,
) -> anyhow::Result<Option<Restarted>> {
    let manifest = read_static_pod(node, NAME).await?;
    let kubeadm_key = node
        .node_exec(["cat", KUBEADM_KEY], EXEC)
        .output()
        .await
        .context("reading kubeadm's service-account key")?;
    let kubeadm_kid = PublicKey::from_pem(&kubeadm_key)
        .map_err(|e| anyhow::anyhow!("kubeadm's sa.pub does not parse: {e}"))?
        .kid();
    let compatibility = Compatibility {
        previous_issuers: issuers_of(&manifest),
        kubeadm_key: !cluster
            .verification_public_keys()
            .iter()
            .any(|k| k.kid() == kubeadm_kid),
    };
    let (hash, flags) = flags_for(cluster, &compatibility);
    if manifest["metadata"]["annotations"][ANNOTATION] == hash.as_str() {
        return Ok(None);
    }
    let began = Instant::now();
    let dir = format!("{KEY_ROOT}/{hash}");
    for (name, contents) in &flags.files {
        node.node_exec(
            ["sh", "-c", &format!("mkdir -p {dir} && cat > {dir}/{name}")],
            EXEC,
        )
        .stdin(contents.as_bytes())
        .output()
        .await
        .with_context(|| format!("copying {name} into the node"))?;
    }
    write_static_pod(node, NAME, &edited(manifest, &hash, &flags)?).await?;
    let issuer = cluster.issuers.first().cloned().unwrap_or_default();
    wait_for(node, client, &hash, &issuer).await?;
    tracing::info!(
        seconds = began.elapsed().as_secs_f32(),
        flags = %hash,
        "kube-apiserver restarted with the scenario's service-account flags"
    );
    Ok(Some(Restarted {
        signs_with_kubeadm_key: cluster.signer().public_key().kid() == kubeadm_kid,
        hash,
    }))
}

/// Until the new apiserver serves: the kubelet has made the mirror pod of the new manifest
/// (it does after stopping the old apiserver), `/readyz` answers, and discovery names the
/// new issuer. The mirror pod's Ready condition is not waited for: the kubelet reports it
/// up to a minute late after a static pod is replaced.
async fn wait_for(
    node: &KindCluster,
    client: &kube::Client,
    hash: &str,
    issuer: &str,
) -> anyhow::Result<()> {
    let mirror = format!("{NAME}-{}", node.node);
    let began = Instant::now();
    let mut last = String::from("no answer yet");
    while began.elapsed() < RESTART {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match api::get(client, "Pod", Some("kube-system"), &mirror).await {
            Ok(pod) => {
                let ours = pod["metadata"]["annotations"][ANNOTATION] == hash;
                let ready = ours && api::raw(client, "/readyz").await.is_ok();
                let serves = ready
                    && api::raw(client, "/.well-known/openid-configuration")
                        .await
                        .ok()
                        .and_then(|d| serde_json::from_str::<Value>(&d).ok())
                        .is_some_and(|d| d["issuer"] == issuer);
                if serves {
                    return Ok(());
                }
                last = format!("mirror pod of the new flags {ours}, /readyz ok {ready}");
            }
            Err(error) => last = error.to_string(),
        }
    }
    let logs = node
        .node_exec(
            [
                "sh",
                "-c",
                "tail -n 15 $(ls -t /var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log | head -n 1) 2>&1",
            ],
            EXEC,
        )
        .output()
        .await
        .unwrap_or_default();
    bail!(
        "the kubelet did not bring up kube-apiserver with the new flags within {} s ({last}); its last lines:\n{logs}",
        RESTART.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Value {
        json!({
            "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
            "spec": {
                "containers": [{
                    "name": "kube-apiserver",
                    "command": ["kube-apiserver", "--secure-port=6443",
                        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                        "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
                        "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key"],
                    "volumeMounts": [{"name": "k8s-certs", "mountPath": "/etc/kubernetes/pki"}],
                }],
                "volumes": [{"name": "k8s-certs", "hostPath": {"path": "/etc/kubernetes/pki"}}],
            },
        })
    }

    fn flags() -> ServiceAccountFlags {
        ServiceAccountFlags {
            files: vec![("signing.key".into(), "PEM".into())],
            args: vec![
                "--service-account-issuer=https://issuer.example".into(),
                "--service-account-signing-key-file=/etc/irsa-lab/keys/h/signing.key".into(),
            ],
        }
    }

    #[test]
    fn the_edit_replaces_kubeadms_service_account_flags_and_keeps_the_others() {
        let out = edited(manifest(), "h", &flags()).unwrap();
        let command: Vec<&str> = out["spec"]["containers"][0]["command"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            command,
            [
                "kube-apiserver",
                "--secure-port=6443",
                "--service-account-issuer=https://issuer.example",
                "--service-account-signing-key-file=/etc/irsa-lab/keys/h/signing.key"
            ]
        );
    }

    #[test]
    fn the_edit_mounts_the_key_directory_once_and_marks_the_manifest() {
        let once = edited(manifest(), "h1", &flags()).unwrap();
        let twice = edited(once, "h2", &flags()).unwrap();
        let volumes = twice["spec"]["volumes"].as_array().unwrap();
        assert_eq!(volumes.iter().filter(|v| v["name"] == VOLUME).count(), 1);
        let mounts = twice["spec"]["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap();
        assert_eq!(mounts.iter().filter(|m| m["name"] == VOLUME).count(), 1);
        assert_eq!(twice["metadata"]["annotations"][ANNOTATION], "h2");
    }
}
