//! Our webhook out of cluster, as the apiserver's admission sees it: the
//! `pod-identity-webhook` binary on a free loopback port with its real Kubernetes client
//! (watching ServiceAccounts and its ConfigMap through this apiserver), registered by a
//! MutatingWebhookConfiguration that is the deploy manifest's with `clientConfig.url` and
//! `caBundle` set, and the scenario's `failurePolicy`.

use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use super::apiserver::ControlPlane;
use super::binaries::arg;
use super::process::{Managed, free_port};
use crate::backend::BackendError;
use crate::backend::pki;
use crate::scenario::model::{FailurePolicy, Webhook};

/// The manifest users deploy: its rules, selectors and timeouts are what we register.
const DEPLOY_MANIFEST: &str = include_str!("../../../webhook/deploy/mutatingwebhook.yaml");
/// The webhook's informers must have listed ServiceAccounts before it is ready.
const WEBHOOK_READY: Duration = Duration::from_secs(60);

/// The running webhook (absent when the scenario says it is down).
#[derive(Debug)]
pub struct OutOfClusterWebhook {
    process: Option<Managed>,
    /// Where the registration points.
    pub port: u16,
    /// The CA of its serving certificate.
    pub ca_pem: String,
}

fn mutating_webhook_configuration(
    url: &str,
    ca_pem: &str,
    policy: FailurePolicy,
) -> anyhow::Result<Value> {
    let mut manifest: Value =
        serde_norway::from_str(DEPLOY_MANIFEST).context("webhook/deploy/mutatingwebhook.yaml")?;
    let policy = match policy {
        FailurePolicy::Ignore => "Ignore",
        FailurePolicy::Fail => "Fail",
    };
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    for hook in manifest["webhooks"].as_array_mut().into_iter().flatten() {
        hook["clientConfig"] = json!({"url": url, "caBundle": ca});
        hook["failurePolicy"] = json!(policy);
    }
    Ok(manifest)
}

impl OutOfClusterWebhook {
    /// Starts the webhook (when `setup.running`) and registers it (when `setup.registered`).
    pub async fn start(
        plane: &ControlPlane,
        binary: &std::path::Path,
        setup: &Webhook,
    ) -> Result<Self, BackendError> {
        // Bad flags are the scenario's error, said before any process starts.
        let mut parsed = vec!["pod-identity-webhook".to_owned()];
        parsed.extend(setup.flags.iter().cloned());
        <pod_identity_webhook::flags::Cli as clap::Parser>::try_parse_from(&parsed)
            .map_err(|e| BackendError::WebhookFlags(e.to_string()))?;
        let started: anyhow::Result<Self> = async {
            let certificate = pki::loopback("irsa-lab webhook CA", "pod-identity-webhook")?;
            let dir = plane.dir();
            let (cert, key) = (dir.join("webhook.crt"), dir.join("webhook.key"));
            std::fs::write(&cert, &certificate.cert_pem)?;
            std::fs::write(&key, &certificate.key_pem)?;
            let port = free_port()?;
            let process = if setup.running {
                let mut args = vec![
                    "--in-cluster=false".to_owned(),
                    format!("--kubeconfig={}", arg(&plane.kubeconfig_path())),
                    format!("--tls-cert={}", arg(&cert)),
                    format!("--tls-key={}", arg(&key)),
                    format!("--port={port}"),
                    format!("--metrics-port={}", free_port()?),
                    "--bind=127.0.0.1".to_owned(),
                ];
                args.extend(setup.flags.iter().cloned());
                let mut process = Managed::spawn(
                    "pod-identity-webhook",
                    binary,
                    &args,
                    dir.join("webhook.log"),
                )?;
                let probe = reqwest::Client::builder()
                    .use_rustls_tls()
                    .tls_built_in_root_certs(false)
                    .add_root_certificate(reqwest::Certificate::from_pem(
                        certificate.ca_pem.as_bytes(),
                    )?)
                    .timeout(Duration::from_secs(5))
                    .no_proxy()
                    .build()?;
                let url = format!("https://127.0.0.1:{port}/readyz");
                process
                    .wait_ready(WEBHOOK_READY, || {
                        let request = probe.get(&url).send();
                        async move { request.await.is_ok_and(|a| a.status().is_success()) }
                    })
                    .await?;
                Some(process)
            } else {
                None
            };
            if setup.registered {
                // A caBundle that does not match: the apiserver trusts another CA.
                let ca = if setup.ca_bundle_matches {
                    certificate.ca_pem.clone()
                } else {
                    pki::loopback("another CA", "pod-identity-webhook")?.ca_pem
                };
                let url = format!("https://127.0.0.1:{port}/mutate");
                let object = mutating_webhook_configuration(&url, &ca, setup.failure_policy)?;
                register(plane, object).await?;
            }
            Ok(Self {
                process,
                port,
                ca_pem: certificate.ca_pem,
            })
        }
        .await;
        started.map_err(|source| BackendError::Start {
            component: "the webhook",
            source,
        })
    }

    /// The webhook's process id, when it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(Managed::pid)
    }

    pub async fn stop(self) {
        if let Some(process) = self.process {
            process.stop().await;
        }
    }
}

async fn register(plane: &ControlPlane, object: Value) -> anyhow::Result<()> {
    let client = plane.client().await?;
    let resource = ApiResource {
        group: "admissionregistration.k8s.io".into(),
        version: "v1".into(),
        api_version: "admissionregistration.k8s.io/v1".into(),
        kind: "MutatingWebhookConfiguration".into(),
        plural: "mutatingwebhookconfigurations".into(),
    };
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let object: DynamicObject = serde_json::from_value(object)?;
    let name = object.metadata.name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply("irsa-lab").force(),
        &Patch::Apply(&object),
    )
    .await
    .context("registering the MutatingWebhookConfiguration")?;
    Ok(())
}
