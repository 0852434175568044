//! One container's additions: env entries (all-or-nothing pairs, the reference's order)
//! and the token mount.

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation};
use serde_json::{Value, json};

pub(super) struct ContainerPlan<'a> {
    pub identity_env: &'a [(&'static str, String); 2],
    pub identity_names: &'a [&'static str; 2],
    pub region: Option<&'a str>,
    pub regional_sts: bool,
    pub volume_name: &'a str,
    pub mount_path: &'a str,
}

fn has_env(container: &Value, name: &str) -> bool {
    container["env"]
        .as_array()
        .is_some_and(|env| env.iter().any(|e| e["name"].as_str() == Some(name)))
}

/// Add operations for the container at JSON pointer `base`.
pub(super) fn plan_container(
    base: &PointerBuf,
    container: &Value,
    plan: &ContainerPlan<'_>,
) -> Vec<PatchOperation> {
    let identity_present = plan.identity_names.iter().any(|n| has_env(container, n));
    let region_present =
        has_env(container, "AWS_REGION") || has_env(container, "AWS_DEFAULT_REGION");
    let sts_present = has_env(container, "AWS_STS_REGIONAL_ENDPOINTS");
    // A container that already has all three is the user's own configuration: untouched.
    if identity_present && region_present && sts_present {
        return Vec::new();
    }
    let mut env: Vec<Value> = Vec::new();
    if !sts_present && plan.regional_sts {
        env.push(json!({"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}));
    }
    if let (false, Some(region)) = (region_present, plan.region) {
        env.push(json!({"name": "AWS_DEFAULT_REGION", "value": region}));
        env.push(json!({"name": "AWS_REGION", "value": region}));
    }
    if !identity_present {
        for (name, value) in plan.identity_env.iter() {
            env.push(json!({"name": name, "value": value}));
        }
    }
    let mut ops = append("env", base, container, env);
    let mounted = container["volumeMounts"].as_array().is_some_and(|mounts| {
        mounts
            .iter()
            .any(|m| m["name"].as_str() == Some(plan.volume_name))
    });
    if !mounted {
        let mount =
            json!({"name": plan.volume_name, "readOnly": true, "mountPath": plan.mount_path});
        ops.extend(append("volumeMounts", base, container, vec![mount]));
    }
    ops
}

/// Appends `items` to the container's `field` list: one `add` of the whole list when the
/// field is absent, else one `add .../-` per item.
fn append(
    field: &str,
    base: &PointerBuf,
    container: &Value,
    items: Vec<Value>,
) -> Vec<PatchOperation> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut path = base.clone();
    path.push_back(field);
    if container[field].is_array() {
        path.push_back("-");
        items
            .into_iter()
            .map(|value| {
                PatchOperation::Add(AddOperation {
                    path: path.clone(),
                    value,
                })
            })
            .collect()
    } else {
        vec![PatchOperation::Add(AddOperation {
            path,
            value: Value::Array(items),
        })]
    }
}
