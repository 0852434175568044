//! Every manifest under `deploy/` parses, and the invariants the install depends on hold.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(yaml_files(&p));
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

fn find(kind: &str, file: &str) -> Value {
    docs(&deploy_dir().join(file))
        .into_iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {file}"))
}

#[test]
fn every_manifest_parses_with_kind_and_name() {
    let files = yaml_files(&deploy_dir());
    assert!(files.len() >= 9, "{files:?}");
    for f in files {
        for d in docs(&f) {
            assert!(
                d["kind"].is_string(),
                "{}: document without kind",
                f.display()
            );
            assert!(
                d["apiVersion"].is_string(),
                "{}: document without apiVersion",
                f.display()
            );
            if d["kind"] != "Kustomization" {
                assert!(
                    d["metadata"]["name"].is_string(),
                    "{}: unnamed {}",
                    f.display(),
                    d["kind"]
                );
            }
        }
    }
}

#[test]
fn kustomizations_reference_existing_files() {
    for f in yaml_files(&deploy_dir())
        .into_iter()
        .filter(|f| f.ends_with("kustomization.yaml"))
    {
        let k = &docs(&f)[0];
        let base = f.parent().unwrap();
        let refs = k["resources"].as_array().into_iter().flatten().chain(
            k["patches"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| &p["path"]),
        );
        for r in refs {
            let p = base.join(r.as_str().unwrap());
            assert!(
                p.exists(),
                "{} references missing {}",
                f.display(),
                p.display()
            );
        }
    }
}

#[test]
fn webhook_configuration_invariants() {
    let cfg = find("MutatingWebhookConfiguration", "mutatingwebhook.yaml");
    let hooks = cfg["webhooks"].as_array().unwrap();
    assert!(!hooks.is_empty());
    for h in hooks {
        assert_eq!(h["failurePolicy"], "Ignore");
        assert_eq!(h["reinvocationPolicy"], "IfNeeded");
        assert_eq!(h["sideEffects"], "None");
        assert_eq!(h["admissionReviewVersions"], serde_json::json!(["v1"]));
        assert_eq!(h["clientConfig"]["service"]["path"], "/mutate");
        let exprs = h["objectSelector"]["matchExpressions"].as_array().unwrap();
        assert!(exprs.iter().any(
            |e| e["key"] == "eks.amazonaws.com/skip-pod-identity-webhook"
                && e["operator"] == "DoesNotExist"
        ));
    }
    let patch = find(
        "MutatingWebhookConfiguration",
        "cert-manager/mutatingwebhook-patch.yaml",
    );
    assert_eq!(
        patch["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "eks/pod-identity-webhook"
    );
}

#[test]
fn deployment_is_hardened_and_probed_over_https() {
    let d = find("Deployment", "deployment.yaml");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(c[probe]["httpGet"]["scheme"], "HTTPS");
    }
    assert!(c["resources"]["requests"]["memory"].is_string());
    // The webhook's own pod is excluded from its own admission.
    assert!(
        d["spec"]["template"]["metadata"]["labels"]["eks.amazonaws.com/skip-pod-identity-webhook"]
            .is_string()
    );
    // The Service's target port is a port the container declares.
    let svc = find("Service", "service.yaml");
    let target = svc["spec"]["ports"][0]["targetPort"].clone();
    assert!(
        c["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == target)
    );
    assert_eq!(svc["spec"]["ports"][0]["port"], 443);
}

#[test]
fn rbac_grants_what_the_webhook_calls() {
    let role = find("ClusterRole", "rbac.yaml");
    let rules = role["rules"].as_array().unwrap();
    let grants = |resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == resource)
                && r["verbs"].as_array().unwrap().iter().any(|x| x == verb)
        })
    };
    for verb in ["get", "list", "watch"] {
        assert!(grants("serviceaccounts", verb), "serviceaccounts {verb}");
    }
    assert!(grants("mutatingwebhookconfigurations", "patch"));
    let ns_rules = find("Role", "rbac.yaml")["rules"]
        .as_array()
        .unwrap()
        .clone();
    for (res, verb) in [
        ("secrets", "get"),
        ("secrets", "create"),
        ("secrets", "update"),
        ("configmaps", "watch"),
    ] {
        assert!(
            ns_rules.iter().any(
                |r| r["resources"].as_array().unwrap().iter().any(|x| x == res)
                    && r["verbs"].as_array().unwrap().iter().any(|x| x == verb)
            ),
            "{res} {verb}"
        );
    }
}

#[test]
fn cert_manager_variant_runs_out_of_cluster_mode() {
    let d = find("Deployment", "cert-manager/deployment-patch.yaml");
    let args = d["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(args.iter().any(|a| a == "--in-cluster=false"));
    let cert = find("Certificate", "cert-manager/certificate.yaml");
    assert_eq!(cert["spec"]["commonName"], "pod-identity-webhook.eks.svc");
    assert_eq!(cert["spec"]["dnsNames"].as_array().unwrap().len(), 4);
}
