//! Our webhook in the cluster, from the manifests users apply (`webhook/deploy`, compiled
//! in): the image loaded into the node, the Deployment's arguments those of the manifest
//! with the scenario's flags in place of the ones they name, and the registration's
//! `failurePolicy` and `caBundle` as the scenario says (`registered: false` deletes it,
//! `running: false` scales the Deployment to zero, `caBundleMatches: false` publishes
//! another CA). Between scenarios only what changed is applied, so an unchanged Deployment
//! is not rolled out again.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::backend::control_plane::api;
use crate::backend::pki;
use crate::scenario::model::{FailurePolicy, Webhook};

/// `webhook/deploy`, in `kustomization.yaml`'s order.
const MANIFESTS: &[&str] = &[
    include_str!("../../../webhook/deploy/namespace.yaml"),
    include_str!("../../../webhook/deploy/rbac.yaml"),
    include_str!("../../../webhook/deploy/service.yaml"),
];
const DEPLOYMENT: &str = include_str!("../../../webhook/deploy/deployment.yaml");
const REGISTRATION: &str = include_str!("../../../webhook/deploy/mutatingwebhook.yaml");

pub const NAMESPACE: &str = "eks";
const NAME: &str = "pod-identity-webhook";
/// A new webhook pod: image present, informers synced, readiness probe passed.
const ROLLOUT: Duration = Duration::from_secs(180);

fn documents(text: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let value = Value::deserialize(document).context("webhook/deploy does not parse")?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

async fn apply_object(client: &kube::Client, object: Value) -> anyhow::Result<()> {
    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
    let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
    api::apply(client, &kind, namespace.as_deref(), object)
        .await
        .with_context(|| format!("applying the webhook's {kind}"))?;
    Ok(())
}

/// The flag's name in `--name=value` or `--name`.
fn flag_name(arg: &str) -> &str {
    arg.split_once('=').map_or(arg, |(n, _)| n)
}

/// The manifest's arguments with `flags` in place of those they name.
fn arguments(manifest: &[Value], flags: &[String]) -> Vec<Value> {
    let replaced: Vec<&str> = flags.iter().map(|f| flag_name(f)).collect();
    manifest
        .iter()
        .filter(|a| !a.as_str().is_some_and(|a| replaced.contains(&flag_name(a))))
        .cloned()
        .chain(flags.iter().map(|f| json!(f)))
        .collect()
}

/// The Deployment for `setup`, its pod placed on `node` (as `kubectl apply` would leave it
/// to the scheduler, whose watches back off for up to half a minute after each apiserver
/// restart here).
fn deployment(setup: &Webhook, node: &str) -> anyhow::Result<Value> {
    let mut deployment = documents(DEPLOYMENT)?
        .pop()
        .context("webhook/deploy/deployment.yaml is empty")?;
    let container = &mut deployment["spec"]["template"]["spec"]["containers"][0];
    let args = container["args"].as_array().cloned().unwrap_or_default();
    container["args"] = json!(arguments(&args, &setup.flags));
    // Loaded with `kind load`; a pull would go to a registry this machine may not reach.
    container["imagePullPolicy"] = json!("Never");
    deployment["spec"]["template"]["spec"]["nodeName"] = json!(node);
    deployment["spec"]["replicas"] = json!(if setup.running { 1 } else { 0 });
    Ok(deployment)
}

fn registration(setup: &Webhook, ca_pem: &str) -> anyhow::Result<Value> {
    let mut manifest = documents(REGISTRATION)?
        .pop()
        .context("webhook/deploy/mutatingwebhook.yaml is empty")?;
    let policy = match setup.failure_policy {
        FailurePolicy::Ignore => "Ignore",
        FailurePolicy::Fail => "Fail",
    };
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    for hook in manifest["webhooks"].as_array_mut().into_iter().flatten() {
        hook["clientConfig"]["caBundle"] = json!(ca);
        hook["failurePolicy"] = json!(policy);
    }
    Ok(manifest)
}

/// Deploys (or updates) the webhook for one scenario and waits until it is in the state
/// the scenario describes.
pub async fn deploy(client: &kube::Client, setup: &Webhook, node: &str) -> anyhow::Result<()> {
    for text in MANIFESTS {
        for object in documents(text)? {
            apply_object(client, object).await?;
        }
    }
    // The webhook patches the registration's caBundle at start-up, so it must exist first;
    // it keeps the caBundle it holds when one is already there.
    let held = serving_ca(client).await;
    let first = registration(setup, held.as_deref().unwrap_or_default())?;
    if held.is_none() {
        let mut bare = first;
        for hook in bare["webhooks"].as_array_mut().into_iter().flatten() {
            if let Some(config) = hook["clientConfig"].as_object_mut() {
                config.remove("caBundle");
            }
        }
        apply_object(client, bare).await?;
    } else {
        apply_object(client, first).await?;
    }
    // Running first, even when the scenario wants it down: its start-up makes the Secret.
    let mut up = setup.clone();
    up.running = true;
    apply_object(client, deployment(&up, node)?).await?;
    wait_rolled_out(client, 1).await?;
    let ca = wait_serving_ca(client).await?;
    let published = if setup.ca_bundle_matches {
        ca
    } else {
        pki::loopback("another CA", "pod-identity-webhook")?.ca_pem
    };
    apply_object(client, registration(setup, &published)?).await?;
    if !setup.running {
        apply_object(client, deployment(setup, node)?).await?;
        wait_rolled_out(client, 0).await?;
        wait_no_endpoints(client).await?;
    }
    if !setup.registered {
        let resource = api::resource("MutatingWebhookConfiguration");
        let registrations: kube::Api<kube::api::DynamicObject> =
            kube::Api::all_with(client.clone(), &resource);
        registrations
            .delete(NAME, &Default::default())
            .await
            .context("deleting the webhook's registration")?;
    }
    Ok(())
}

/// Until the Service has no ready endpoint left, so the apiserver's call is refused, as
/// with the webhook down, rather than sent to a pod that is going away.
async fn wait_no_endpoints(client: &kube::Client) -> anyhow::Result<()> {
    let slices: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client.clone(), NAMESPACE, &api::resource("EndpointSlice"));
    let params =
        kube::api::ListParams::default().labels(&format!("kubernetes.io/service-name={NAME}"));
    let began = Instant::now();
    while began.elapsed() < ROLLOUT {
        let list = slices
            .list(&params)
            .await
            .context("listing the webhook's EndpointSlices")?;
        let ready = list.items.iter().any(|slice| {
            slice.data["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["conditions"]["ready"] != false)
        });
        if !ready {
            // kube-proxy turns the empty slice into a REJECT rule a moment later.
            tokio::time::sleep(Duration::from_secs(2)).await;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "the webhook's Service still had ready endpoints {} s after scaling it to zero",
        ROLLOUT.as_secs()
    )
}

/// The CA of the webhook's serving certificate, from the Secret it keeps it in.
async fn serving_ca(client: &kube::Client) -> Option<String> {
    let secret = api::get(client, "Secret", Some(NAMESPACE), NAME)
        .await
        .ok()?;
    let encoded = secret["data"]["ca.crt"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

async fn wait_serving_ca(client: &kube::Client) -> anyhow::Result<String> {
    let began = Instant::now();
    while began.elapsed() < ROLLOUT {
        if let Some(ca) = serving_ca(client).await {
            return Ok(ca);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "the webhook made no Secret {NAMESPACE}/{NAME} within {} s (`kubectl -n {NAMESPACE} logs deploy/{NAME}` says why)",
        ROLLOUT.as_secs()
    )
}

/// Until the Deployment has `replicas` pods of its newest template, all ready, and no
/// other pods.
async fn wait_rolled_out(client: &kube::Client, replicas: i64) -> anyhow::Result<()> {
    let began = Instant::now();
    let mut last = String::new();
    while began.elapsed() < ROLLOUT {
        let deployment = api::get(client, "Deployment", Some(NAMESPACE), NAME).await?;
        let status = &deployment["status"];
        let count = |field: &str| status[field].as_i64().unwrap_or(0);
        let observed = status["observedGeneration"].as_i64().unwrap_or(0)
            >= deployment["metadata"]["generation"].as_i64().unwrap_or(1);
        if observed
            && count("replicas") == replicas
            && count("updatedReplicas") == replicas
            && count("readyReplicas") == replicas
        {
            return Ok(());
        }
        last = format!(
            "{} of {replicas} updated, {} ready, {} in all",
            count("updatedReplicas"),
            count("readyReplicas"),
            count("replicas")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "the webhook's Deployment did not roll out within {} s ({last}); `kubectl -n {NAMESPACE} describe deploy/{NAME}` says why",
        ROLLOUT.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_flag_replaces_the_manifests_flag_of_that_name() {
        let manifest = vec![
            json!("--in-cluster=true"),
            json!("--token-audience=sts.amazonaws.com"),
        ];
        let out = arguments(&manifest, &["--token-audience=other".into()]);
        assert_eq!(
            out,
            vec![json!("--in-cluster=true"), json!("--token-audience=other")]
        );
    }

    #[test]
    fn the_deployment_is_the_manifests_with_the_scenarios_flags_and_no_pulls() {
        let setup = Webhook {
            flags: vec!["--aws-default-region=us-east-1".into()],
            ..Webhook::default()
        };
        let deployment = deployment(&setup, "n").unwrap();
        assert_eq!(deployment["spec"]["template"]["spec"]["nodeName"], "n");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let args = container["args"].as_array().unwrap();
        assert!(args.contains(&json!("--in-cluster=true")));
        assert_eq!(args.last(), Some(&json!("--aws-default-region=us-east-1")));
        assert_eq!(container["imagePullPolicy"], "Never");
    }
}
