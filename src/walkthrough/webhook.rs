//! The admission step: the real webhook server on loopback with a freshly generated
//! serving certificate, reached over HTTPS by its Service DNS name (resolved to loopback),
//! as the apiserver reaches it, with a real AdmissionReview.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use base64::Engine;
use pod_identity_webhook::admission::Admission;
use pod_identity_webhook::config::MutationConfig;
use pod_identity_webhook::identity::{ServiceAccountInfo, StaticSources};
use pod_identity_webhook::incluster::certs;
use pod_identity_webhook::mutation::apply_patch;
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::AppState;
use pod_identity_webhook::server::{Running, ServerOptions, start};
use serde_json::{Value, json};

const SERVICE: &str = "pod-identity-webhook";
const NAMESPACE: &str = "eks";

/// A running webhook and an HTTPS client that trusts its CA.
pub struct Webhook {
    running: Running,
    client: reqwest::Client,
    _certs: tempfile::TempDir,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("https", &self.running.https_addr)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Starts the webhook with the reference's default flags and `service_accounts` in
    /// its cache.
    pub async fn start(service_accounts: Vec<ServiceAccountInfo>) -> anyhow::Result<Self> {
        let bundle = certs::generate(SERVICE, NAMESPACE, SystemTime::now())
            .context("serving certificate")?;
        let dir = tempfile::tempdir()?;
        let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        std::fs::write(&cert, &bundle.cert_pem)?;
        std::fs::write(&key, &bundle.key_pem)?;
        let sources = StaticSources {
            service_accounts,
            ..StaticSources::default()
        };
        let state = AppState {
            reviewer: Arc::new(Admission::new(Arc::new(sources), MutationConfig::default())),
            ready: Arc::new(|| Ok(())),
            metrics: Metrics::new(),
        };
        let running = start(ServerOptions::loopback(cert, key), state, None)
            .await
            .context("starting the webhook")?;
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(bundle.ca_pem.as_bytes())?)
            .resolve(&format!("{SERVICE}.{NAMESPACE}.svc"), running.https_addr)
            .no_proxy()
            .build()?;
        Ok(Self {
            running,
            client,
            _certs: dir,
        })
    }

    /// Sends `pod` for admission and returns the pod the apiserver would store, with the
    /// number of patch operations.
    pub async fn admit(&self, namespace: &str, pod: &Value) -> anyhow::Result<(Value, usize)> {
        let review = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": uuid::Uuid::new_v4().to_string(),
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": namespace,
                "operation": "CREATE",
                "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                "object": pod,
            }
        });
        let url = format!(
            "https://{SERVICE}.{NAMESPACE}.svc:{}/mutate",
            self.running.https_addr.port()
        );
        let answer: Value = self
            .client
            .post(url)
            .json(&review)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut mutated = pod.clone();
        let mut ops = 0;
        if let Some(patch) = answer["response"]["patch"].as_str() {
            let patch: Vec<Value> =
                serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(patch)?)?;
            ops = patch.len();
            apply_patch(&mut mutated, &patch).context("applying the webhook's patch")?;
        }
        Ok((mutated, ops))
    }

    pub fn stop(self) {
        self.running.shutdown.trigger();
    }
}

/// The value of env `name` in the pod's first container.
pub fn env(pod: &Value, name: &str) -> Option<String> {
    pod["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?["value"]
        .as_str()
        .map(str::to_owned)
}
