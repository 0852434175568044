//! Storing the serving bundle in the `kubernetes.io/tls` Secret and publishing the caBundle.

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};

use super::certs::{self, CertGenError, ServingBundle};

/// Default name of the MutatingWebhookConfiguration whose caBundle is patched.
pub const WEBHOOK_CONFIGURATION: &str = "pod-identity-webhook";

/// In-cluster bootstrap failures.
#[derive(Debug, thiserror::Error)]
pub enum InClusterError {
    /// Certificate generation failed.
    #[error(transparent)]
    Generate(#[from] CertGenError),
    /// An API call failed.
    #[error("failed to {action}: {source}")]
    Api {
        /// What was attempted.
        action: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
}

fn api_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> InClusterError {
    let action = action.into();
    move |source| InClusterError::Api { action, source }
}

/// Reads a bundle out of Secret data (`ca.crt`, `tls.crt`, `tls.key`), if complete and UTF-8.
pub fn bundle_from_secret(secret: &Secret) -> Option<ServingBundle> {
    let data = secret.data.as_ref()?;
    let get = |k: &str| {
        data.get(k)
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
    };
    Some(ServingBundle {
        ca_pem: get("ca.crt")?,
        cert_pem: get("tls.crt")?,
        key_pem: get("tls.key")?,
    })
}

/// The Secret holding `bundle`.
pub fn secret_for(name: &str, namespace: &str, bundle: &ServingBundle) -> Secret {
    let data: BTreeMap<String, ByteString> = [
        ("ca.crt", &bundle.ca_pem),
        ("tls.crt", &bundle.cert_pem),
        ("tls.key", &bundle.key_pem),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
    .collect();
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(
                [(
                    "app.kubernetes.io/managed-by".to_owned(),
                    "pod-identity-webhook".to_owned(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".to_owned()),
        data: Some(data),
        ..Default::default()
    }
}

/// Reuses the Secret's bundle when still valid for the Service, else generates and stores one.
pub async fn ensure_serving_secret(
    client: kube::Client,
    namespace: &str,
    secret_name: &str,
    service: &str,
) -> Result<ServingBundle, InClusterError> {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    let existing = api
        .get_opt(secret_name)
        .await
        .map_err(api_err(format!("get Secret {namespace}/{secret_name}")))?;
    if let Some(bundle) = existing.as_ref().and_then(bundle_from_secret)
        && certs::reusable(&bundle, service, namespace, SystemTime::now())
    {
        tracing::info!(
            secret = secret_name,
            "reusing the serving certificate stored in the Secret"
        );
        return Ok(bundle);
    }
    let bundle = certs::generate(service, namespace, SystemTime::now())?;
    let mut secret = secret_for(secret_name, namespace, &bundle);
    match existing {
        Some(old) => {
            // Replace with the old resourceVersion: a concurrent replica's write wins the race
            // and we fail loudly instead of silently serving a certificate nobody trusts.
            secret.metadata.resource_version = old.metadata.resource_version;
            api.replace(secret_name, &PostParams::default(), &secret)
                .await
                .map_err(api_err(format!("update Secret {namespace}/{secret_name}")))?;
        }
        None => {
            api.create(&PostParams::default(), &secret)
                .await
                .map_err(api_err(format!("create Secret {namespace}/{secret_name}")))?;
        }
    }
    tracing::info!(
        secret = secret_name,
        "generated a new CA and serving certificate"
    );
    Ok(bundle)
}

/// Sets `caBundle` on every webhook of the configuration (strategic merge keyed by name).
pub async fn patch_ca_bundle(
    client: kube::Client,
    configuration: &str,
    ca_pem: &str,
) -> Result<(), InClusterError> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client);
    let current = api.get(configuration).await.map_err(api_err(format!(
        "get MutatingWebhookConfiguration {configuration}"
    )))?;
    let patch = ca_bundle_patch(&current, ca_pem);
    api.patch(
        configuration,
        &PatchParams::default(),
        &Patch::Strategic(patch),
    )
    .await
    .map_err(api_err(format!(
        "patch the caBundle of MutatingWebhookConfiguration {configuration}"
    )))?;
    Ok(())
}

/// The strategic-merge patch that sets `caBundle` on each webhook of `current`.
pub fn ca_bundle_patch(current: &MutatingWebhookConfiguration, ca_pem: &str) -> serde_json::Value {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let webhooks: Vec<serde_json::Value> = current
        .webhooks
        .iter()
        .flatten()
        .map(|w| serde_json::json!({"name": w.name, "clientConfig": {"caBundle": b64}}))
        .collect();
    serde_json::json!({ "webhooks": webhooks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::admissionregistration::v1::MutatingWebhook;

    #[test]
    fn secret_round_trip() {
        let b = certs::generate("svc", "ns", SystemTime::now()).unwrap();
        let s = secret_for("tls", "ns", &b);
        assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
        assert_eq!(bundle_from_secret(&s), Some(b));
        let mut partial = s.clone();
        partial.data.as_mut().unwrap().remove("ca.crt");
        assert_eq!(bundle_from_secret(&partial), None);
    }

    #[test]
    fn patch_names_every_webhook() {
        let cfg = MutatingWebhookConfiguration {
            webhooks: Some(vec![
                MutatingWebhook {
                    name: "iam-for-pods.amazonaws.com".into(),
                    ..Default::default()
                },
                MutatingWebhook {
                    name: "second.example.com".into(),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        let p = ca_bundle_patch(&cfg, "PEM");
        let hooks = p["webhooks"].as_array().unwrap();
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0]["name"], "iam-for-pods.amazonaws.com");
        assert_eq!(hooks[1]["clientConfig"]["caBundle"], "UEVN");
    }
}
