//! The kubelet model: for each projected `serviceAccountToken` source of a pod, a
//! pod-bound token from the TokenRequest API, refreshed once it is older than 80 % of its
//! lifetime or 24 h; a failed refresh keeps the old token. Files are resolved through the
//! container's volume mounts exactly as the container would see them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::backend::{KubeError, TokenFile, find_container};

/// One projected token source of a pod volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectedToken {
    pub volume: String,
    /// The file name inside the volume.
    pub path: String,
    pub audience: Option<String>,
    pub expiration_seconds: Option<i64>,
}

/// A token the kubelet holds, with its lifetime.
#[derive(Debug, Clone)]
pub struct HeldToken {
    pub file: TokenFile,
    pub lifetime: i64,
}

impl HeldToken {
    /// The kubelet refreshes at 80 % of the lifetime, and at most every 24 h.
    pub fn due(&self, now: i64) -> bool {
        let age = now - self.file.issued_at;
        age * 10 > self.lifetime * 8 || age > 24 * 3600
    }
}

/// Every serviceAccountToken projection of `pod`.
pub fn projected_tokens(pod: &Value) -> Vec<ProjectedToken> {
    let mut found = Vec::new();
    for volume in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let name = volume["name"].as_str().unwrap_or_default();
        for source in volume["projected"]["sources"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let token = &source["serviceAccountToken"];
            if token.is_object() {
                found.push(ProjectedToken {
                    volume: name.to_owned(),
                    path: token["path"].as_str().unwrap_or_default().to_owned(),
                    audience: token["audience"]
                        .as_str()
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned),
                    expiration_seconds: token["expirationSeconds"].as_i64(),
                });
            }
        }
    }
    found
}

/// The container named `name`, or kube's NotFound.
pub fn container_or_not_found<'p>(pod: &'p Value, name: &str) -> Result<&'p Value, KubeError> {
    find_container(pod, name).ok_or_else(|| {
        KubeError::new(
            "NotFound",
            format!("container {name:?} not found in the pod"),
        )
    })
}

/// Which `(volume, file)` the container sees at `path`.
pub fn resolve_mount(
    pod: &Value,
    container: &str,
    path: &str,
) -> Result<(String, String), KubeError> {
    let spec = container_or_not_found(pod, container)?;
    let mounts = spec["volumeMounts"].as_array().into_iter().flatten();
    let mut best: Option<(usize, String, String)> = None;
    for mount in mounts {
        let at = mount["mountPath"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/');
        if let Some(rest) = path.strip_prefix(at).and_then(|r| r.strip_prefix('/'))
            && best.as_ref().is_none_or(|(len, ..)| at.len() > *len)
        {
            let volume = mount["name"].as_str().unwrap_or_default().to_owned();
            let file = match mount["subPath"].as_str() {
                Some(sub) if !sub.is_empty() => format!("{sub}/{rest}"),
                _ => rest.to_owned(),
            };
            best = Some((at.len(), volume, file));
        }
    }
    best.map(|(_, volume, file)| (volume, file)).ok_or_else(|| {
        KubeError::new(
            "FileNotFound",
            format!("open {path}: no such file or directory (no volume is mounted there in container {container:?})"),
        )
    })
}

/// A container's environment as the kubelet starts it: `envFrom` ConfigMaps first, then
/// `env` (literal values and `configMapKeyRef`), later entries winning.
pub fn resolve_env(
    spec: &Value,
    config_map: impl Fn(&str) -> Option<BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, KubeError> {
    let missing = |name: &str| {
        KubeError::new(
            "CreateContainerConfigError",
            format!("configmap {name:?} not found"),
        )
    };
    let mut env = BTreeMap::new();
    for source in spec["envFrom"].as_array().into_iter().flatten() {
        if let Some(name) = source["configMapRef"]["name"].as_str() {
            match config_map(name) {
                Some(data) => {
                    let prefix = source["prefix"].as_str().unwrap_or_default();
                    env.extend(data.into_iter().map(|(k, v)| (format!("{prefix}{k}"), v)));
                }
                None if source["configMapRef"]["optional"] == true => {}
                None => return Err(missing(name)),
            }
        }
    }
    for var in spec["env"].as_array().into_iter().flatten() {
        let Some(name) = var["name"].as_str() else {
            continue;
        };
        if let Some(value) = var["value"].as_str() {
            env.insert(name.to_owned(), value.to_owned());
        } else if let Some(reference) = var["valueFrom"]["configMapKeyRef"].as_object() {
            let map = reference
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = reference
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match config_map(map).and_then(|data| data.get(key).cloned()) {
                Some(value) => {
                    env.insert(name.to_owned(), value);
                }
                None if reference.get("optional") == Some(&Value::Bool(true)) => {}
                None => return Err(missing(map)),
            }
        } else {
            env.insert(name.to_owned(), String::new());
        }
    }
    Ok(env)
}

/// Before 1.19 the kubelet wrote projected token files 0600 owned by root: a container
/// running as another user cannot read them unless the pod sets `fsGroup`.
pub fn unreadable_by(pod: &Value, container: &str) -> bool {
    let spec = &pod["spec"];
    let Some(found) = find_container(pod, container) else {
        return false;
    };
    let user = found["securityContext"]["runAsUser"]
        .as_i64()
        .or_else(|| spec["securityContext"]["runAsUser"].as_i64());
    user.is_some_and(|uid| uid != 0) && spec["securityContext"]["fsGroup"].is_null()
}

/// Tokens held per pod, `(volume, file)` → token.
#[derive(Debug, Default)]
pub struct Kubelet {
    pub tokens: BTreeMap<(String, String), BTreeMap<(String, String), HeldToken>>,
}

impl Kubelet {
    /// The projected tokens of `pod` (key `key`) the kubelet must request now: those it
    /// does not hold or that are due (all of them when `force`), with their `(volume, file)`.
    pub fn due(
        &self,
        key: &(String, String),
        pod: &Value,
        now: i64,
        force: bool,
    ) -> Vec<((String, String), ProjectedToken)> {
        projected_tokens(pod)
            .into_iter()
            .map(|p| ((p.volume.clone(), p.path.clone()), p))
            .filter(|(slot, _)| {
                let held = self.tokens.get(key).and_then(|t| t.get(slot));
                force || held.is_none_or(|h| h.due(now))
            })
            .collect()
    }

    /// Writes a token the apiserver issued at `now` into the pod's `(volume, file)`.
    pub fn hold(
        &mut self,
        key: &(String, String),
        slot: (String, String),
        token: String,
        now: i64,
    ) {
        let lifetime = token_lifetime(&token).unwrap_or(3600);
        let file = TokenFile {
            token,
            issued_at: now,
        };
        self.tokens
            .entry(key.clone())
            .or_default()
            .insert(slot, HeldToken { file, lifetime });
    }

    /// The token file the kubelet wrote for the pod `key` at `(volume, file)`.
    pub fn file(
        &self,
        key: &(String, String),
        slot: &(String, String),
        path: &str,
    ) -> Result<TokenFile, KubeError> {
        self.tokens
            .get(key)
            .and_then(|t| t.get(slot))
            .map(|held| held.file.clone())
            .ok_or_else(|| {
                KubeError::new(
                    "FileNotFound",
                    format!(
                        "open {path}: no such file or directory (volume {:?} projects no {:?})",
                        slot.0, slot.1
                    ),
                )
            })
    }
}

/// Stored pods by (namespace, name), with their uid.
pub type Pods = BTreeMap<(String, String), (String, Value)>;
/// ConfigMaps' `data` by (namespace, name).
pub type ConfigMaps = BTreeMap<(String, String), BTreeMap<String, String>>;

/// The stored pod `namespace/name`, typed.
pub fn stored_pod(
    pods: &Pods,
    namespace: &str,
    name: &str,
) -> Option<k8s_openapi::api::core::v1::Pod> {
    let (_, value) = pods.get(&(namespace.to_owned(), name.to_owned()))?;
    serde_json::from_value(value.clone()).ok()
}

/// The environment of `container` in the stored pod, its ConfigMap references resolved.
pub fn container_env(
    pods: &Pods,
    config_maps: &ConfigMaps,
    namespace: &str,
    pod: &str,
    container: &str,
) -> Result<BTreeMap<String, String>, KubeError> {
    let (_, value) = pods
        .get(&(namespace.to_owned(), pod.to_owned()))
        .ok_or_else(|| KubeError::not_found("pods", pod))?;
    let spec = container_or_not_found(value, container)?;
    resolve_env(spec, |name| {
        config_maps
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    })
}

/// A JWT's claims, unverified (the harness reads what it was handed).
pub fn token_claims(token: &str) -> Option<Value> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `exp - iat` of a token.
pub fn token_lifetime(token: &str) -> Option<i64> {
    let claims = token_claims(token)?;
    Some(claims["exp"].as_i64()? - claims["iat"].as_i64()?)
}
