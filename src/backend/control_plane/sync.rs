//! Waiting for the webhook's watchers. The webhook learns ServiceAccounts from a watch, so
//! a pod created right after its ServiceAccount can reach the webhook before the watch
//! event does (the reference has the same race; `--service-account-lookup-grace-period`
//! exists for it). The harness plays a user who applied the ServiceAccount a moment before
//! the pod: after ServiceAccount changes it updates a marker ServiceAccount and asks the
//! webhook directly, with a probe AdmissionReview, until the answer carries the marker's
//! new role. One watch stream delivers events in order, so by then every earlier change has
//! been seen too.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::api;
use crate::backend::KubeError;

const MARKER: &str = "irsa-lab-sync";
const MARKER_NAMESPACE: &str = "kube-system";
const SYNC_TIMEOUT: Duration = Duration::from_secs(20);

/// Probes one webhook.
#[derive(Debug)]
pub struct WatchBarrier {
    client: reqwest::Client,
    url: String,
    annotation: String,
    generation: u64,
}

impl WatchBarrier {
    pub fn new(port: u16, ca_pem: &str, annotation_prefix: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?)
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()?;
        Ok(Self {
            client,
            url: format!("https://127.0.0.1:{port}/mutate"),
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
        while began.elapsed() < SYNC_TIMEOUT {
            if self
                .probe()
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
                "the webhook did not see a ServiceAccount change within {} s (is its watch failing? see webhook.log in the run's directory)",
                SYNC_TIMEOUT.as_secs()
            ),
        ))
    }

    /// The decoded patch the webhook answers for a pod of the marker ServiceAccount.
    async fn probe(&self) -> Option<String> {
        let review = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": uuid::Uuid::new_v4().to_string(),
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": MARKER_NAMESPACE, "operation": "CREATE",
                "userInfo": {"username": "irsa-lab"},
                "object": {
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "irsa-lab-probe", "namespace": MARKER_NAMESPACE},
                    "spec": {"serviceAccountName": MARKER, "containers": [{"name": "probe", "image": "probe"}]},
                },
            },
        });
        let answer: Value = self
            .client
            .post(&self.url)
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
