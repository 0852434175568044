//! `pod-identity-webhook mutate`: what /mutate would do to one pod, without a cluster.
//! The pod goes through the very same [`crate::admission::review`] inside an in-memory
//! AdmissionReview.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::admission::review;
use crate::config::MutationConfig;
use crate::flags::{Flags, MutateArgs, Output};
use crate::identity::{
    ConfigMapIdentities, ContainerCredentialsIdentities, ServiceAccountInfo, StaticSources,
};

/// Bad input: the message names the file and the problem. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct InputError {
    pub file: String,
    pub problem: String,
}

fn input_error(file: &Path, problem: impl ToString) -> InputError {
    InputError {
        file: file.display().to_string(),
        problem: problem.to_string(),
    }
}

/// Reads a YAML or JSON document (`-` is standard input).
fn read_document(path: &Path) -> Result<Value, InputError> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| input_error(path, e))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| input_error(path, e))?
    };
    // YAML is a superset of JSON, but JSON's own errors are clearer for JSON input.
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| input_error(path, format!("invalid JSON: {e}")))?
    } else {
        serde_norway::from_str(&text)
            .map_err(|e| input_error(path, format!("invalid YAML: {e}")))?
    };
    if !value.is_object() {
        return Err(input_error(
            path,
            "expected a Kubernetes object (a YAML or JSON mapping)",
        ));
    }
    Ok(value)
}

fn expect_kind(path: &Path, doc: &Value, kind: &str) -> Result<(), InputError> {
    match doc["kind"].as_str() {
        Some(k) if k == kind => Ok(()),
        Some(other) => Err(input_error(
            path,
            format!("expected kind {kind}, found {other}"),
        )),
        None => Err(input_error(
            path,
            format!("expected kind {kind}, found no kind field"),
        )),
    }
}

/// Runs the subcommand; returns what to print.
pub async fn run(flags: &Flags, args: &MutateArgs) -> Result<String, InputError> {
    let cfg = MutationConfig::from_flags(flags);
    let mut pod = read_document(&args.pod)?;
    expect_kind(&args.pod, &pod, "Pod")?;
    if !pod["spec"].is_object() {
        return Err(input_error(&args.pod, "the pod has no spec"));
    }
    // The apiserver never admits a pod without metadata; a file may omit it.
    if !pod["metadata"].is_object() {
        pod["metadata"] = json!({});
    }
    let namespace = args
        .pod_namespace
        .clone()
        .or_else(|| pod["metadata"]["namespace"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "default".into());
    // Exactly as /mutate reads it (`admission::review`): `spec.serviceAccountName`, else
    // `default`; the deprecated `spec.serviceAccount` is ignored.
    let sa_name = pod["spec"]["serviceAccountName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_owned();

    let mut sources = StaticSources::default();
    if let Some(path) = &args.service_account {
        let sa = read_document(path)?;
        expect_kind(path, &sa, "ServiceAccount")?;
        let name = sa["metadata"]["name"]
            .as_str()
            .ok_or_else(|| input_error(path, "metadata.name is missing"))?;
        if name != sa_name {
            return Err(input_error(
                path,
                format!(
                    "this is ServiceAccount {name:?} but the pod runs as {sa_name:?} (spec.serviceAccountName)"
                ),
            ));
        }
        let prefix = format!("{}/", cfg.annotation_prefix);
        let annotations = sa["metadata"]["annotations"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        sources.service_accounts.push(ServiceAccountInfo {
            namespace: namespace.clone(),
            name: sa_name.clone(),
            annotations,
        });
    }
    if let Some(path) = &args.configmap {
        let cm = read_document(path)?;
        expect_kind(path, &cm, "ConfigMap")?;
        let config = cm["data"]["config"]
            .as_str()
            .ok_or_else(|| input_error(path, "data.config is missing"))?;
        let (parsed, warnings) = ConfigMapIdentities::parse(config);
        for warning in warnings {
            eprintln!("warning: {}: {warning}", path.display());
        }
        sources.configmap = Arc::new(parsed);
    }
    if !flags.watch_container_credentials_config.is_empty() {
        let path = Path::new(&flags.watch_container_credentials_config);
        let bytes = std::fs::read(path).map_err(|e| input_error(path, e))?;
        sources.container_credentials = Arc::new(
            ContainerCredentialsIdentities::parse(&bytes).map_err(|e| input_error(path, e))?,
        );
    }

    let body = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "offline",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "pod-identity-webhook mutate"},
            "object": pod,
        }
    });
    let mut rng = match args.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_entropy(),
    };
    let outcome = review(body.to_string().as_bytes(), &sources, &cfg, &mut rng)
        .await
        .map_err(|e| input_error(&args.pod, e))?;
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    let printed = match args.output {
        Output::Patch => serde_json::to_string_pretty(&outcome.patch),
        Output::Pod => {
            let mut mutated = body["request"]["object"].clone();
            json_patch::patch(&mut mutated, &outcome.patch)
                .map_err(|e| input_error(&args.pod, e))?;
            serde_json::to_string_pretty(&mutated)
        }
    };
    printed.map_err(|e| input_error(&args.pod, e))
}
