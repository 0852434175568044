//! The pod mutation, as targeted RFC 6902 `add` operations.
//!
//! The reference replaces whole container lists, which drops every field its compiled-in
//! Kubernetes types do not know (gRPC probes, native sidecars' `restartPolicy`, fields of
//! the future). Here the pod stays a JSON value and only env entries, mounts, one volume
//! and (container-credentials mode) one label are added, so everything else survives; the
//! resulting pod equals the reference's wherever the reference keeps fields. A second pass
//! over a mutated pod adds nothing (`reinvocationPolicy: IfNeeded` is safe).

mod container;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation};
use rand::Rng;
use serde_json::{Value, json};

use crate::config::{
    CC_JITTER_MIN, DEFAULT_TOKEN_EXPIRATION, MutationConfig, POD_IDENTITY_LABEL, TOKEN_VOLUME_NAME,
};
use crate::identity::Identity;
use container::{ContainerPlan, plan_container};

/// Which kind of mutation happened (the `method` label of the pod-count metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    WebIdentity,
    ContainerCredentials,
}

impl Mode {
    pub fn metric_label(self) -> &'static str {
        match self {
            Mode::WebIdentity => "sts",
            Mode::ContainerCredentials => "container-credentials",
        }
    }
}

/// The patch for one pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub patch: Patch,
    pub mode: Option<Mode>,
}

/// An RFC 6902 `add` at the pointer made of `tokens` (escaped by jsonptr).
fn add<'t>(
    tokens: impl IntoIterator<Item: Into<json_patch::jsonptr::Token<'t>>>,
    value: Value,
) -> PatchOperation {
    PatchOperation::Add(AddOperation {
        path: PointerBuf::from_tokens(tokens),
        value,
    })
}

/// A patch could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The operations are not RFC 6902 JSON.
    #[error("not an RFC 6902 patch: {0}")]
    Invalid(#[source] serde_json::Error),
    /// An operation failed against the document.
    #[error(transparent)]
    Apply(#[from] json_patch::PatchError),
}

/// Applies RFC 6902 operations given as JSON (e.g. decoded from an AdmissionReview answer)
/// with the json-patch crate: what the apiserver does with the webhook's patch.
pub fn apply_patch(doc: &mut Value, patch: &[Value]) -> Result<(), PatchError> {
    let ops: Vec<PatchOperation> =
        serde_json::from_value(Value::Array(patch.to_vec())).map_err(PatchError::Invalid)?;
    Ok(json_patch::patch(doc, &ops)?)
}

/// What is injected, once the identity is known.
struct Injection<'a> {
    identity_env: [(&'static str, String); 2],
    identity_names: [&'static str; 2],
    volume_name: &'a str,
    mount_path: &'a str,
    volume: Value,
    regional_sts: bool,
}

fn is_windows(pod: &Value) -> bool {
    let selector = &pod["spec"]["nodeSelector"];
    ["kubernetes.io/os", "beta.kubernetes.io/os"]
        .iter()
        .any(|k| selector[*k].as_str() == Some("windows"))
}

/// `C:` + the path with backslashes, for the env value only (the mount path stays).
fn windows_path(path: &str) -> String {
    format!("C:{}", path.replace('/', "\\"))
}

fn projected_volume(name: &str, audience: &str, expiration: i64, path: &str) -> Value {
    json!({
        "name": name,
        "projected": {"sources": [{"serviceAccountToken": {"audience": audience, "expirationSeconds": expiration, "path": path}}]}
    })
}

/// The patch that gives `pod` its AWS identity. `rng` draws the container-credentials
/// expiration jitter.
pub fn mutate_pod(
    pod: &Value,
    identity: &Identity,
    cfg: &MutationConfig,
    rng: &mut dyn rand::RngCore,
) -> Mutation {
    let windows = is_windows(pod);
    let token_env = |mount: &str, file: &str| {
        let path = format!("{}/{file}", mount.trim_end_matches('/'));
        if windows { windows_path(&path) } else { path }
    };
    let (injection, mode) = match identity {
        Identity::None => {
            return Mutation {
                patch: Patch::default(),
                mode: None,
            };
        }
        Identity::WebIdentity {
            role_arn,
            audience,
            regional_sts,
            expiration,
        } => (
            Injection {
                identity_env: [
                    ("AWS_ROLE_ARN", role_arn.clone()),
                    (
                        "AWS_WEB_IDENTITY_TOKEN_FILE",
                        token_env(&cfg.mount_path, "token"),
                    ),
                ],
                identity_names: ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"],
                volume_name: TOKEN_VOLUME_NAME,
                mount_path: &cfg.mount_path,
                volume: projected_volume(TOKEN_VOLUME_NAME, audience, *expiration, "token"),
                regional_sts: *regional_sts,
            },
            Mode::WebIdentity,
        ),
        Identity::ContainerCredentials {
            audience,
            regional_sts,
            expiration,
            default_expiration,
        } => {
            let cc = &cfg.container_credentials;
            let expiration = if *default_expiration && *expiration == DEFAULT_TOKEN_EXPIRATION {
                rng.gen_range(CC_JITTER_MIN..=DEFAULT_TOKEN_EXPIRATION)
            } else {
                *expiration
            };
            (
                Injection {
                    identity_env: [
                        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", cc.full_uri.clone()),
                        (
                            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                            token_env(&cc.mount_path, &cc.token_path),
                        ),
                    ],
                    identity_names: [
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    ],
                    volume_name: &cc.volume_name,
                    mount_path: &cc.mount_path,
                    volume: projected_volume(&cc.volume_name, audience, expiration, &cc.token_path),
                    regional_sts: *regional_sts,
                },
                Mode::ContainerCredentials,
            )
        }
    };

    let mut patch = Vec::new();
    if mode == Mode::ContainerCredentials {
        let labels = &pod["metadata"]["labels"];
        if !pod["metadata"].is_object() {
            patch.push(add(
                ["metadata"],
                json!({"labels": {POD_IDENTITY_LABEL: "enabled"}}),
            ));
        } else if labels.is_null() {
            patch.push(add(
                ["metadata", "labels"],
                json!({POD_IDENTITY_LABEL: "enabled"}),
            ));
        } else if labels[POD_IDENTITY_LABEL].as_str() != Some("enabled") {
            patch.push(add(
                ["metadata", "labels", POD_IDENTITY_LABEL],
                json!("enabled"),
            ));
        }
    }

    // The volume goes first in the list, where the reference puts it.
    let volumes = &pod["spec"]["volumes"];
    let has_volume = volumes.as_array().is_some_and(|v| {
        v.iter()
            .any(|vol| vol["name"].as_str() == Some(injection.volume_name))
    });
    if !has_volume {
        if volumes.as_array().is_none_or(|v| v.is_empty()) {
            patch.push(add(["spec", "volumes"], json!([injection.volume])));
        } else {
            patch.push(add(["spec", "volumes", "0"], injection.volume));
        }
    }

    let skip: Vec<&str> = pod["metadata"]["annotations"][cfg.annotation("skip-containers")]
        .as_str()
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod["spec"][list].as_array() else {
            continue;
        };
        for (index, container) in containers.iter().enumerate() {
            if container["name"]
                .as_str()
                .is_some_and(|n| skip.contains(&n))
            {
                continue;
            }
            let plan = ContainerPlan {
                identity_env: &injection.identity_env,
                identity_names: &injection.identity_names,
                region: cfg.region.as_deref(),
                regional_sts: injection.regional_sts,
                volume_name: injection.volume_name,
                mount_path: injection.mount_path,
            };
            let base = PointerBuf::from_tokens(["spec", list, &index.to_string()]);
            patch.extend(plan_container(&base, container, &plan));
        }
    }
    Mutation {
        patch: Patch(patch),
        mode: Some(mode),
    }
}

#[cfg(test)]
mod tests;
