//! Waiting for the webhook's watchers. The webhook learns ServiceAccounts from a watch, so
//! a pod created right after its ServiceAccount can reach the webhook before the watch
//! event does (the reference has the same race; `--service-account-lookup-grace-period`
//! exists for it). The harness plays a user who applied the ServiceAccount a moment before
//! the pod: after ServiceAccount changes it updates a marker ServiceAccount and asks the
//! webhook directly, with a probe AdmissionReview, until the answer carries the marker's
//! new role. One watch stream delivers events in order, so by then every earlier change has
//! been seen too. Out of cluster the webhook is asked directly; in a kind cluster, where
//! only the apiserver reaches it, a server-side dry run of a marker pod goes through
//! admission and comes back mutated (nothing is stored).

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::api;
use crate::backend::KubeError;

const MARKER: &str = "irsa-lab-sync";
const MARKER_NAMESPACE: &str = "kube-system";
const SYNC_TIMEOUT: Duration = Duration::from_secs(20);
/// In a kind cluster the webhook's watch also has to come back after each apiserver
/// restart, with the client's backoff.
const IN_CLUSTER_SYNC_TIMEOUT: Duration = Duration::from_secs(120);

/// How the webhook's answer is obtained.
#[derive(Debug)]
enum Probe {
    /// A probe AdmissionReview to its URL.
    Direct {
        client: reqwest::Client,
        url: String,
    },
    /// A server-side dry-run create through the apiserver.
    DryRun,
}

/// Probes one webhook.
#[derive(Debug)]
pub struct WatchBarrier {
    probe: Probe,
    timeout: Duration,
    annotation: String,
    generation: u64,
}

impl WatchBarrier {
    /// A webhook in the cluster, reached through the apiserver's admission.
    pub fn through_apiserver(annotation_prefix: &str) -> Self {
        Self {
            probe: Probe::DryRun,
            timeout: IN_CLUSTER_SYNC_TIMEOUT,
            annotation: format!("{annotation_prefix}/role-arn"),
            generation: 0,
        }
    }

    pub fn new(port: u16, ca_pem: &str, annotation_prefix: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?)
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()?;
        Ok(Self {
            timeout: SYNC_TIMEOUT,
            probe: Probe::Direct {
                client,
                url: format!("https://127.0.0.1:{port}/mutate"),
            },
            annotation: format!("{annotation_prefix}/role-arn"),
            generation: 0,
        })
    }

    /// Returns once the webhook has seen every ServiceAccount change made so far.
    pub async fn wait(&mut self, kube: &kube::Client) -> Result<(), KubeError> {
        self.generation += 1;
        let role = format!(
            "arn:aws:iam::000000000000:role/{MARKER}-{}",
            self.generation
        );
        let marker = json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": MARKER, "namespace": MARKER_NAMESPACE, "annotations": {&self.annotation: role}},
        });
        api::apply(kube, "ServiceAccount", Some(MARKER_NAMESPACE), marker).await?;
        let began = Instant::now();
        while began.elapsed() < self.timeout {
            if self
                .probe(kube)
                .await
                .is_some_and(|patch| patch.contains(&role))
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(KubeError::new(
            "Timeout",
            format!(
                "the webhook did not see a ServiceAccount change within {} s (is its watch failing? its log says: webhook.log in the run's directory, or `kubectl -n eks logs deploy/pod-identity-webhook` in a cluster)",
                self.timeout.as_secs()
            ),
        ))
    }

    /// What the webhook made of a pod of the marker ServiceAccount, as text: its decoded
    /// patch, or the dry-run pod.
    async fn probe(&self, kube: &kube::Client) -> Option<String> {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "irsa-lab-probe", "namespace": MARKER_NAMESPACE},
            "spec": {"serviceAccountName": MARKER, "containers": [{"name": "probe", "image": "probe"}]},
        });
        let (client, url) = match &self.probe {
            Probe::Direct { client, url } => (client, url),
            Probe::DryRun => {
                let pods: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
                    kube.clone(),
                    MARKER_NAMESPACE,
                    &api::resource("Pod"),
                );
                let params = kube::api::PostParams {
                    dry_run: true,
                    ..Default::default()
                };
                let object = serde_json::from_value(pod).ok()?;
                let created = pods.create(&params, &object).await.ok()?;
                return serde_json::to_string(&created).ok();
            }
        };
        let review = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": uuid::Uuid::new_v4().to_string(),
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": MARKER_NAMESPACE, "operation": "CREATE",
                "userInfo": {"username": "irsa-lab"},
                "object": pod,
            },
        });
        let answer: Value = client
            .post(url)
            .json(&review)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let patch = answer["response"]["patch"].as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(patch)
            .ok()?;
        String::from_utf8(bytes).ok()
    }
}
