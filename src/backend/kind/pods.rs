//! Scenario pods as real pods. A scenario names images it never runs (`amazon/aws-cli`);
//! on kind every container runs our workload image instead, holding still so the real
//! kubelet keeps its projected tokens mounted, and the harness reads a token file the way
//! a user does: `kubectl exec ... cat` (the image has no shell; its `cat` mode prints the
//! file). What the webhook sees and what the transcript shows is the pod as written: the
//! image swap is undone in the stored pod the backend hands back.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cluster::{KindCluster, WORKLOAD_IMAGE};
use crate::backend::KubeError;
use crate::backend::control_plane::api;

/// Image pulls are never needed (`imagePullPolicy: Never`); this is the kubelet creating
/// the sandbox and mounting volumes on a busy node.
const START: Duration = Duration::from_secs(90);
const GONE: Duration = Duration::from_secs(90);
const EXEC: Duration = Duration::from_secs(30);
/// The workload binary in the image.
const WORKLOAD: &str = "/usr/local/bin/irsa-lab-workload";
/// The fields of a container the swap changes.
const SWAPPED: &[&str] = &["image", "imagePullPolicy", "command", "args"];

/// Calls `f(container, is_init)` for every container, main ones first.
fn each_container(pod: &mut Value, mut f: impl FnMut(&mut Value, bool)) {
    for (list, init) in [("containers", false), ("initContainers", true)] {
        for container in pod["spec"][list].as_array_mut().into_iter().flatten() {
            f(container, init);
        }
    }
}

/// `pod` with every container running the workload image, placed on `node`. Init
/// containers run to completion (`cat /dev/null`); native sidecars (`restartPolicy:
/// Always`) hold like the main containers. The harness places the pod itself (as a
/// DaemonSet does): after each apiserver restart the scheduler's watches back off for up
/// to half a minute, and on one node there is no choice to make.
pub fn runnable(pod: &Value, node: &str) -> Value {
    let mut pod = pod.clone();
    if pod["spec"].get("nodeName").is_none() {
        pod["spec"]["nodeName"] = json!(node);
    }
    each_container(&mut pod, |container, init| {
        let holds = !init || container["restartPolicy"] == "Always";
        container["image"] = json!(WORKLOAD_IMAGE);
        container["imagePullPolicy"] = json!("Never");
        container["command"] = json!([WORKLOAD]);
        container["args"] = if holds {
            json!(["hold"])
        } else {
            json!(["cat", "/dev/null"])
        };
    });
    pod
}

/// In `stored`, each container's image and command as `applied` had them.
pub fn restore(stored: &mut Value, applied: &Value) {
    let mut originals = Vec::new();
    let mut applied = applied.clone();
    each_container(&mut applied, |c, _| originals.push(c.clone()));
    let mut index = 0;
    each_container(stored, |container, _| {
        let Some(original) = originals.get(index) else {
            return;
        };
        index += 1;
        for field in SWAPPED {
            match original.get(*field) {
                Some(value) => container[*field] = value.clone(),
                None => {
                    if let Some(map) = container.as_object_mut() {
                        map.remove(*field);
                    }
                }
            }
        }
    });
}

/// What stops a container from starting, when the kubelet says it will not.
fn stuck(pod: &Value) -> Option<String> {
    let statuses = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|list| pod["status"][*list].as_array().cloned().unwrap_or_default());
    for status in statuses {
        let waiting = &status["state"]["waiting"];
        let reason = waiting["reason"].as_str().unwrap_or_default();
        if matches!(
            reason,
            "ErrImageNeverPull"
                | "CreateContainerConfigError"
                | "CreateContainerError"
                | "CrashLoopBackOff"
        ) {
            return Some(format!(
                "container {}: {reason}: {}",
                status["name"].as_str().unwrap_or_default(),
                waiting["message"].as_str().unwrap_or_default()
            ));
        }
    }
    None
}

/// Waits until every container of the pod has started; the stored pod, or why not.
pub async fn wait_started(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Value, String> {
    let began = Instant::now();
    let mut last = String::from("not scheduled yet");
    while began.elapsed() < START {
        match api::get(client, "Pod", Some(namespace), name).await {
            Ok(pod) => {
                if let Some(why) = stuck(&pod) {
                    return Err(why);
                }
                let statuses = pod["status"]["containerStatuses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let started = !statuses.is_empty() && statuses.iter().all(|s| s["started"] == true);
                if pod["status"]["phase"] == "Running" && started {
                    return Ok(pod);
                }
                last = format!(
                    "phase {}",
                    pod["status"]["phase"].as_str().unwrap_or("Pending")
                );
            }
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "pod {namespace}/{name} did not start within {} s ({last})",
        START.as_secs()
    ))
}

/// Until `kind` `namespace/name` is gone (a deleted pod terminates first).
pub async fn wait_gone(
    client: &kube::Client,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<(), KubeError> {
    let began = Instant::now();
    while began.elapsed() < GONE {
        match api::get(client, kind, namespace, name).await {
            Err(e) if e.code == "NotFound" => return Ok(()),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    Err(KubeError::new(
        "Timeout",
        format!(
            "{kind} {name} was still there {} s after its deletion",
            GONE.as_secs()
        ),
    ))
}

/// The file at `path` in the container, as a process there reads it.
pub async fn read_file(
    cluster: &KindCluster,
    namespace: &str,
    pod: &str,
    container: &str,
    path: &str,
) -> Result<String, KubeError> {
    let exec = cluster.kubectl(
        [
            "exec", "-n", namespace, pod, "-c", container, "--", WORKLOAD, "cat", path,
        ],
        EXEC,
    );
    exec.output().await.map_err(|e| {
        let text = format!("{e:#}");
        let code = if text.contains("Permission denied") {
            "PermissionDenied"
        } else if text.contains("No such file") {
            "FileNotFound"
        } else {
            "InternalError"
        };
        KubeError::new(code, text)
    })
}

/// `iat` of a token (when the kubelet got it).
pub fn issued_at(token: &str) -> Option<i64> {
    crate::backend::kubelet::token_claims(token)?["iat"].as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Value {
        json!({"spec": {
            "containers": [{"name": "app", "image": "amazon/aws-cli", "command": ["aws"]}],
            "initContainers": [
                {"name": "setup", "image": "busybox"},
                {"name": "proxy", "image": "envoy", "restartPolicy": "Always"},
            ],
        }})
    }

    #[test]
    fn every_container_runs_the_workload_and_init_containers_finish() {
        let out = runnable(&pod(), "n");
        assert_eq!(out["spec"]["nodeName"], "n");
        assert_eq!(out["spec"]["containers"][0]["image"], WORKLOAD_IMAGE);
        assert_eq!(out["spec"]["containers"][0]["args"], json!(["hold"]));
        assert_eq!(
            out["spec"]["initContainers"][0]["args"],
            json!(["cat", "/dev/null"])
        );
        assert_eq!(out["spec"]["initContainers"][1]["args"], json!(["hold"]));
    }

    #[test]
    fn the_stored_pod_gets_back_the_images_and_commands_as_written() {
        let mut stored = runnable(&pod(), "n");
        stored["spec"]["containers"][0]["env"] = json!([{"name": "AWS_ROLE_ARN", "value": "r"}]);
        restore(&mut stored, &pod());
        let app = &stored["spec"]["containers"][0];
        assert_eq!(app["image"], "amazon/aws-cli");
        assert_eq!(app["command"], json!(["aws"]));
        assert!(app.get("args").is_none() && app.get("imagePullPolicy").is_none());
        assert_eq!(app["env"][0]["name"], "AWS_ROLE_ARN");
    }
}
