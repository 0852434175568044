//! Admission through the real webhook: the `pod-identity-webhook` server on loopback with
//! a fresh serving certificate, reached over HTTPS by its Service DNS name (resolved to
//! loopback) with a real `admission.k8s.io/v1` AdmissionReview, as the apiserver calls it.
//! ServiceAccounts and the ConfigMap reach it through [`LiveSources`], the emulated
//! counterpart of its watchers.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::Context;
use base64::Engine;
use futures::FutureExt;
use futures::future::BoxFuture;
use pod_identity_webhook::admission::Admission;
use pod_identity_webhook::config::MutationConfig;
use pod_identity_webhook::identity::{
    ConfigMapIdentities, ContainerCredentialsIdentities, IdentitySources, ServiceAccountInfo,
};
use pod_identity_webhook::incluster::certs;
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::AppState;
use pod_identity_webhook::server::{Running, ServerOptions, start};
use serde_json::{Value, json};

use crate::backend::{BackendError, KubeError};
use crate::scenario::model::{FailurePolicy, Webhook};

/// kube-apiserver is a Go program: the transport errors users see (and search for) are
/// Go's, so rustls' and the OS's texts are given in Go's words.
fn go_wording(cause: &str, port: u16) -> String {
    if cause.contains("UnknownIssuer") || cause.contains("BadSignature") {
        "tls: failed to verify certificate: x509: certificate signed by unknown authority".into()
    } else if cause.to_ascii_lowercase().contains("connection refused") {
        format!("dial tcp 127.0.0.1:{port}: connect: connection refused")
    } else {
        cause.to_owned()
    }
}

/// Why a call to the webhook did not mutate the pod.
enum CallError {
    /// The webhook answered `allowed: false`: always a refusal.
    Denied(KubeError),
    /// The call itself failed: `failurePolicy` decides.
    Failed(KubeError),
}

const SERVICE: &str = "pod-identity-webhook";
const NAMESPACE: &str = "eks";

/// What the webhook's watchers would have cached.
#[derive(Debug, Default)]
pub struct LiveSources {
    service_accounts: RwLock<Vec<ServiceAccountInfo>>,
    configmap: RwLock<Arc<ConfigMapIdentities>>,
    watch_configmap: bool,
    /// `--namespace`: where the webhook watches its ConfigMap.
    pub namespace: String,
}

impl LiveSources {
    pub fn put_service_account(&self, sa: ServiceAccountInfo) {
        let mut all = self
            .service_accounts
            .write()
            .unwrap_or_else(|e| e.into_inner());
        all.retain(|s| !(s.namespace == sa.namespace && s.name == sa.name));
        all.push(sa);
    }

    pub fn remove_service_account(&self, namespace: &str, name: &str) {
        self.service_accounts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| !(s.namespace == namespace && s.name == name));
    }

    /// The `pod-identity-webhook` ConfigMap's `config` (only with `--watch-config-map`).
    pub fn set_configmap(&self, config: Option<&str>) {
        if !self.watch_configmap {
            return;
        }
        let parsed = config
            .map(|c| ConfigMapIdentities::parse(c).0)
            .unwrap_or_default();
        *self.configmap.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(parsed);
    }
}

impl IdentitySources for LiveSources {
    fn service_account<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Option<ServiceAccountInfo>> {
        let found = self
            .service_accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|sa| sa.namespace == namespace && sa.name == name)
            .cloned();
        async move { found }.boxed()
    }

    fn configmap(&self) -> Arc<ConfigMapIdentities> {
        self.configmap
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn container_credentials(&self) -> Arc<ContainerCredentialsIdentities> {
        Arc::default()
    }
}

/// The running webhook and an HTTPS client that trusts its CA.
pub struct AdmissionWebhook {
    running: Running,
    client: reqwest::Client,
    registration: Webhook,
    /// Where the apiserver connects: the webhook, or a closed port when it is down.
    port: u16,
    pub sources: Arc<LiveSources>,
    _certs: tempfile::TempDir,
}

impl std::fmt::Debug for AdmissionWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionWebhook")
            .field("https", &self.running.https_addr)
            .finish_non_exhaustive()
    }
}

impl AdmissionWebhook {
    /// Starts the webhook with its flags as on its command line, registered as `webhook` says.
    pub async fn start(webhook: &Webhook) -> Result<Self, BackendError> {
        let mut args = vec!["pod-identity-webhook".to_owned()];
        args.extend(webhook.flags.iter().cloned());
        let cli = <pod_identity_webhook::flags::Cli as clap::Parser>::try_parse_from(&args)
            .map_err(|e| BackendError::WebhookFlags(e.to_string()))?;
        let config = MutationConfig::from_flags(&cli.flags);
        let failed = |source: anyhow::Error| BackendError::Start {
            component: "the webhook",
            source,
        };
        let started: anyhow::Result<Self> = async {
            let bundle = certs::generate(SERVICE, NAMESPACE, SystemTime::now())
                .context("serving certificate")?;
            let dir = tempfile::tempdir()?;
            let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
            std::fs::write(&cert, &bundle.cert_pem)?;
            std::fs::write(&key, &bundle.key_pem)?;
            let sources = Arc::new(LiveSources {
                watch_configmap: cli.flags.watch_config_map,
                namespace: cli.flags.namespace.clone(),
                ..LiveSources::default()
            });
            let state = AppState {
                reviewer: Arc::new(Admission::new(sources.clone(), config)),
                ready: Arc::new(|| Ok(())),
                metrics: Metrics::new(),
            };
            let running = start(ServerOptions::loopback(cert, key), state, None).await?;
            // A caBundle that does not match: the apiserver trusts another CA.
            let ca_bundle = if webhook.ca_bundle_matches {
                bundle.ca_pem.clone()
            } else {
                certs::generate(SERVICE, NAMESPACE, SystemTime::now())?.ca_pem
            };
            // A webhook that is down: nothing listens on the port the Service points at.
            let port = if webhook.running {
                running.https_addr.port()
            } else {
                let closed = std::net::TcpListener::bind(("127.0.0.1", 0))?;
                closed.local_addr()?.port()
            };
            let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let client = reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(ca_bundle.as_bytes())?)
                .resolve(&format!("{SERVICE}.{NAMESPACE}.svc"), target)
                .timeout(std::time::Duration::from_secs(10))
                .no_proxy()
                .build()?;
            Ok(Self {
                running,
                client,
                registration: webhook.clone(),
                port,
                sources,
                _certs: dir,
            })
        }
        .await;
        started.map_err(failed)
    }

    /// Sends `pod` for admission (CREATE) and returns the pod with the webhook's patch
    /// applied (by the `json-patch` crate, as the apiserver applies it); `None` when the pod
    /// is stored as sent (no registration, or a failed call under `failurePolicy: Ignore`).
    pub async fn admit(&self, namespace: &str, pod: &Value) -> Result<Option<Value>, KubeError> {
        if !self.registration.registered {
            return Ok(None);
        }
        match self.call(namespace, pod).await {
            Ok(mutated) => Ok(Some(mutated)),
            Err(CallError::Denied(error)) => Err(error),
            Err(CallError::Failed(_))
                if self.registration.failure_policy == FailurePolicy::Ignore =>
            {
                Ok(None)
            }
            Err(CallError::Failed(error)) => Err(error),
        }
    }

    async fn call(&self, namespace: &str, pod: &Value) -> Result<Value, CallError> {
        let review = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": uuid::Uuid::new_v4().to_string(),
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                "requestResource": {"group": "", "version": "v1", "resource": "pods"},
                "name": pod["metadata"]["name"],
                "namespace": namespace,
                "operation": "CREATE",
                "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
                "object": pod,
                "dryRun": false,
            }
        });
        let url = format!(
            "https://{SERVICE}.{NAMESPACE}.svc:{}/mutate?timeout=10s",
            self.port
        );
        // kube-apiserver's wording, with the transport error's innermost cause.
        let calling = |e: String| {
            CallError::Failed(KubeError::new(
                "InternalError",
                format!(
                    "Internal error occurred: failed calling webhook \"iam-for-pods.amazonaws.com\": failed to call webhook: Post \"{url}\": {e}"
                ),
            ))
        };
        let port = self.port;
        let cause = |e: reqwest::Error| {
            let mut inner: &dyn std::error::Error = &e;
            while let Some(next) = inner.source() {
                inner = next;
            }
            go_wording(&inner.to_string(), port)
        };
        let answer: Value = self
            .client
            .post(url.clone())
            .json(&review)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| calling(cause(e)))?
            .json()
            .await
            .map_err(|e| calling(cause(e)))?;
        let response = &answer["response"];
        if response["allowed"] != true {
            let message = response["status"]["message"].as_str().unwrap_or("denied");
            return Err(CallError::Denied(KubeError::new(
                "Forbidden",
                format!(
                    "admission webhook \"iam-for-pods.amazonaws.com\" denied the request: {message}"
                ),
            )));
        }
        let mut mutated = pod.clone();
        if let Some(patch) = response["patch"].as_str() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(patch)
                .map_err(|e| calling(format!("invalid patch encoding: {e}")))?;
            let patch: json_patch::Patch = serde_json::from_slice(&bytes)
                .map_err(|e| calling(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut mutated, &patch)
                .map_err(|e| calling(format!("the patch does not apply: {e}")))?;
        }
        Ok(mutated)
    }

    pub async fn stop(self) {
        self.running.shutdown.trigger();
        self.running.wait().await;
    }
}
