//! The customer's Kubernetes objects as a replay applies them: `kubectl get -o yaml`
//! output cut to what `kubectl apply` of a fresh copy takes (no status, no server-set
//! metadata), without what the webhook injected, since the replay's webhook decides again.

use serde_json::{Map, Value, json};

/// `metadata` cut to name, namespace, labels and annotations (kubectl's own left out).
pub fn clean_metadata(meta: &Value, namespace: &str) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), meta["name"].clone());
    out.insert("namespace".into(), json!(namespace));
    for key in ["labels", "annotations"] {
        if let Some(map) = meta[key].as_object() {
            let kept: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| !k.starts_with("kubectl.kubernetes.io/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !kept.is_empty() {
                out.insert(key.into(), Value::Object(kept));
            }
        }
    }
    Value::Object(out)
}

/// The identity env the webhook adds (region env is matched against its flag).
const INJECTED_ENV: [&str; 2] = ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"];

fn is_injected_volume(name: &str) -> bool {
    name == "aws-iam-token" || name.starts_with("kube-api-access-")
}

/// The pod without status, scheduling results, defaulted fields and what the webhook and
/// the ServiceAccount admission added (`aws-iam-token`, `kube-api-access-*`).
pub fn clean_pod(pod: &Value, namespace: &str, region: Option<&str>) -> Value {
    let mut spec = pod["spec"].clone();
    let mutated = spec["volumes"]
        .as_array()
        .is_some_and(|v| v.iter().any(|v| v["name"] == "aws-iam-token"));
    if let Some(object) = spec.as_object_mut() {
        for key in [
            "nodeName",
            "serviceAccount",
            "tolerations",
            "preemptionPolicy",
            "priority",
            "enableServiceLinks",
            "schedulerName",
            "terminationGracePeriodSeconds",
            "dnsPolicy",
            "restartPolicy",
        ] {
            object.remove(key);
        }
    }
    if let Some(volumes) = spec["volumes"].as_array_mut() {
        volumes.retain(|v| !v["name"].as_str().is_some_and(is_injected_volume));
    }
    for key in ["containers", "initContainers"] {
        for container in spec[key].as_array_mut().into_iter().flatten() {
            if let Some(mounts) = container["volumeMounts"].as_array_mut() {
                mounts.retain(|m| !m["name"].as_str().is_some_and(is_injected_volume));
            }
            // The webhook's env (identity, and the region its flag injects) goes: the
            // scenario's webhook injects it again, or not, as it decides.
            if mutated && let Some(env) = container["env"].as_array_mut() {
                env.retain(|e| {
                    let name = e["name"].as_str().unwrap_or_default();
                    let injected_region = matches!(name, "AWS_REGION" | "AWS_DEFAULT_REGION")
                        && region.is_some_and(|r| e["value"] == r);
                    !INJECTED_ENV.contains(&name) && !injected_region
                });
            }
            for key in ["env", "volumeMounts"] {
                if container[key].as_array().is_some_and(Vec::is_empty)
                    && let Some(object) = container.as_object_mut()
                {
                    object.remove(key);
                }
            }
            if let Some(object) = container.as_object_mut() {
                for k in [
                    "terminationMessagePath",
                    "terminationMessagePolicy",
                    "resources",
                ] {
                    object.remove(k);
                }
            }
        }
    }
    if spec["volumes"].as_array().is_some_and(Vec::is_empty) {
        spec.as_object_mut().map(|o| o.remove("volumes"));
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": clean_metadata(&pod["metadata"], namespace), "spec": spec})
}
