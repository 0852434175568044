//! Table tests of the mutation rules. Every case is also run twice: mutate, apply, mutate
//! again must produce an empty patch (reinvocation safety).

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::*;
use crate::config::MutationConfig;
use crate::identity::Identity;

const ROLE: &str = "arn:aws:iam::111122223333:role/app";

fn web() -> Identity {
    Identity::WebIdentity {
        role_arn: ROLE.into(),
        audience: "sts.amazonaws.com".into(),
        regional_sts: false,
        expiration: 86400,
    }
}

fn mutated(pod: &Value, identity: &Identity, cfg: &MutationConfig) -> Value {
    let mut rng = StdRng::seed_from_u64(7);
    let first = mutate_pod(pod, identity, cfg, &mut rng);
    let mut out = pod.clone();
    // The json-patch crate applies it, as an oracle independent of this code.
    json_patch::patch(&mut out, &first.patch).unwrap();
    let second = mutate_pod(&out, identity, cfg, &mut rng);
    assert!(
        second.patch.0.is_empty(),
        "not idempotent: {:?}",
        second.patch
    );
    out
}

/// The patch as JSON values, to inspect paths and values.
fn ops(patch: &Patch) -> Vec<Value> {
    patch
        .0
        .iter()
        .map(|op| serde_json::to_value(op).unwrap())
        .collect()
}

fn env_names(container: &Value) -> Vec<&str> {
    container["env"]
        .as_array()
        .map(|e| e.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default()
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?["value"]
        .as_str()
}

#[test]
fn the_reference_result_for_a_plain_pod() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "app", "containers": [{"name": "c", "image": "x"}]}});
    let out = mutated(&pod, &web(), &MutationConfig::default());
    assert_eq!(
        out["spec"],
        json!({
            "serviceAccountName": "app",
            "containers": [{
                "name": "c", "image": "x",
                "env": [
                    {"name": "AWS_ROLE_ARN", "value": ROLE},
                    {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}
                ],
                "volumeMounts": [{"name": "aws-iam-token", "readOnly": true, "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"}]
            }],
            "volumes": [{"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}}]
        })
    );
}

#[test]
fn env_order_region_and_sts() {
    let cfg = MutationConfig {
        region: Some("us-west-2".into()),
        ..MutationConfig::default()
    };
    let identity = Identity::WebIdentity {
        role_arn: ROLE.into(),
        audience: "sts.amazonaws.com".into(),
        regional_sts: true,
        expiration: 3600,
    };
    let pod = json!({"spec": {"containers": [{"name": "c"}]}});
    let out = mutated(&pod, &identity, &cfg);
    assert_eq!(
        env_names(&out["spec"]["containers"][0]),
        vec![
            "AWS_STS_REGIONAL_ENDPOINTS",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE"
        ]
    );
    assert_eq!(
        out["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        3600
    );
}

#[test]
fn env_skip_cases() {
    let cfg = MutationConfig {
        region: Some("us-west-2".into()),
        ..MutationConfig::default()
    };
    let identity = Identity::WebIdentity {
        role_arn: ROLE.into(),
        audience: "a".into(),
        regional_sts: true,
        expiration: 86400,
    };
    let e = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect::<Vec<_>>()
    };
    // (existing env, expected env names afterwards, expect a mount)
    let cases: Vec<(Vec<Value>, Vec<&str>, bool)> = vec![
        // all three present: untouched, no mount either
        (
            e(&[
                ("AWS_ROLE_ARN", "mine"),
                ("AWS_REGION", "eu-west-1"),
                ("AWS_STS_REGIONAL_ENDPOINTS", "legacy"),
            ]),
            vec!["AWS_ROLE_ARN", "AWS_REGION", "AWS_STS_REGIONAL_ENDPOINTS"],
            false,
        ),
        // identity via the token file alone counts as present; the pair is not completed
        (
            e(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/mine")]),
            vec![
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_STS_REGIONAL_ENDPOINTS",
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
            ],
            true,
        ),
        // AWS_DEFAULT_REGION alone counts as a region
        (
            e(&[("AWS_DEFAULT_REGION", "eu-west-1")]),
            vec![
                "AWS_DEFAULT_REGION",
                "AWS_STS_REGIONAL_ENDPOINTS",
                "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
            ],
            true,
        ),
        // sts present: not duplicated
        (
            e(&[("AWS_STS_REGIONAL_ENDPOINTS", "legacy")]),
            vec![
                "AWS_STS_REGIONAL_ENDPOINTS",
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
                "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
            ],
            true,
        ),
        // unrelated env kept first
        (
            e(&[("HOME", "/root")]),
            vec![
                "HOME",
                "AWS_STS_REGIONAL_ENDPOINTS",
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
                "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
            ],
            true,
        ),
    ];
    for (env, expected, mount) in cases {
        let pod = json!({"spec": {"containers": [{"name": "c", "env": env}]}});
        let out = mutated(&pod, &identity, &cfg);
        let c = &out["spec"]["containers"][0];
        assert_eq!(env_names(c), expected);
        assert_eq!(c["volumeMounts"].is_array(), mount, "{expected:?}");
    }
}

#[test]
fn init_containers_first_and_native_sidecars_keep_their_fields() {
    let pod = json!({"spec": {
        "initContainers": [{"name": "sidecar", "restartPolicy": "Always", "image": "envoy"}],
        "containers": [{"name": "c", "livenessProbe": {"grpc": {"port": 8080, "service": "health"}}, "futureField": {"x": 1}}]
    }});
    let mut rng = StdRng::seed_from_u64(1);
    let patch = ops(&mutate_pod(&pod, &web(), &MutationConfig::default(), &mut rng).patch);
    let first_container_op = patch
        .iter()
        .position(|op| op["path"].as_str().unwrap().starts_with("/spec/containers"))
        .unwrap();
    let last_init_op = patch
        .iter()
        .rposition(|op| {
            op["path"]
                .as_str()
                .unwrap()
                .starts_with("/spec/initContainers")
        })
        .unwrap();
    assert!(
        last_init_op < first_container_op,
        "init containers are patched first"
    );
    let out = mutated(&pod, &web(), &MutationConfig::default());
    assert_eq!(out["spec"]["initContainers"][0]["restartPolicy"], "Always");
    assert_eq!(
        out["spec"]["containers"][0]["livenessProbe"]["grpc"]["port"],
        8080
    );
    assert_eq!(out["spec"]["containers"][0]["futureField"]["x"], 1);
    assert_eq!(
        env_value(&out["spec"]["initContainers"][0], "AWS_ROLE_ARN"),
        Some(ROLE)
    );
}

#[test]
fn volumes_and_mounts() {
    // Existing volumes: ours goes first (the reference's `add /spec/volumes/0`).
    let pod = json!({"spec": {"volumes": [{"name": "data", "emptyDir": {}}], "containers": [{"name": "c", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}});
    let out = mutated(&pod, &web(), &MutationConfig::default());
    assert_eq!(out["spec"]["volumes"][0]["name"], "aws-iam-token");
    assert_eq!(out["spec"]["volumes"][1]["name"], "data");
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"][1]["name"],
        "aws-iam-token"
    );

    // A volume of that name already exists: not replaced. A mount of it at another path: kept.
    let pod = json!({"spec": {"volumes": [{"name": "aws-iam-token", "secret": {"secretName": "mine"}}], "containers": [{"name": "c", "volumeMounts": [{"name": "aws-iam-token", "mountPath": "/elsewhere"}]}]}});
    let out = mutated(&pod, &web(), &MutationConfig::default());
    assert_eq!(out["spec"]["volumes"].as_array().unwrap().len(), 1);
    assert_eq!(out["spec"]["volumes"][0]["secret"]["secretName"], "mine");
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
        "/elsewhere"
    );
}

#[test]
fn windows_pods_get_windows_paths_in_env_only() {
    for label in ["kubernetes.io/os", "beta.kubernetes.io/os"] {
        let pod =
            json!({"spec": {"nodeSelector": {label: "windows"}, "containers": [{"name": "c"}]}});
        let out = mutated(&pod, &web(), &MutationConfig::default());
        let c = &out["spec"]["containers"][0];
        assert_eq!(
            env_value(c, "AWS_WEB_IDENTITY_TOKEN_FILE"),
            Some("C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token")
        );
        assert_eq!(
            c["volumeMounts"][0]["mountPath"],
            "/var/run/secrets/eks.amazonaws.com/serviceaccount"
        );
    }
}

#[test]
fn skip_containers_trims_spaces_and_covers_init_containers() {
    let pod = json!({
        "metadata": {"annotations": {"eks.amazonaws.com/skip-containers": "init-a, c2 "}},
        "spec": {"initContainers": [{"name": "init-a"}], "containers": [{"name": "c1"}, {"name": "c2"}]}
    });
    let out = mutated(&pod, &web(), &MutationConfig::default());
    assert!(out["spec"]["initContainers"][0].get("env").is_none());
    assert!(out["spec"]["containers"][1].get("env").is_none());
    assert_eq!(
        env_value(&out["spec"]["containers"][0], "AWS_ROLE_ARN"),
        Some(ROLE)
    );
}

#[test]
fn container_credentials_mode() {
    let cfg = MutationConfig::default();
    let identity = Identity::ContainerCredentials {
        audience: "pods.eks.amazonaws.com".into(),
        regional_sts: false,
        expiration: 86400,
        default_expiration: true,
    };
    let pod = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "env": [{"name": "AWS_ROLE_ARN", "value": "ignored-here"}]}]}});
    let out = mutated(&pod, &identity, &cfg);
    assert_eq!(
        out["metadata"]["labels"]["eks.amazonaws.com/pod-identity"],
        "enabled"
    );
    assert_eq!(out["metadata"]["labels"]["app"], "x");
    let c = &out["spec"]["containers"][0];
    assert_eq!(
        env_value(c, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        Some("http://169.254.170.23/v1/credentials")
    );
    assert_eq!(
        env_value(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        Some("/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token")
    );
    assert_eq!(c["volumeMounts"][0]["name"], "eks-pod-identity-token");
    let token = &out["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(token["audience"], "pods.eks.amazonaws.com");
    assert_eq!(token["path"], "eks-pod-identity-token");

    // Jitter: the default 86400 becomes a value in [79200, 86400]; any seed stays in range,
    // and different seeds do not all agree.
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let patch = ops(&mutate_pod(&pod, &identity, &cfg, &mut StdRng::seed_from_u64(seed)).patch);
        let volume = patch
            .iter()
            .find(|op| op["path"] == "/spec/volumes")
            .unwrap();
        let exp = volume["value"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"].as_i64().unwrap();
        assert!((79_200..=86_400).contains(&exp), "{exp}");
        seen.insert(exp);
    }
    assert!(seen.len() > 10, "jitter varies: {seen:?}");

    // An explicit expiration is not jittered; no labels at all gets a labels map.
    let explicit = Identity::ContainerCredentials {
        audience: "pods.eks.amazonaws.com".into(),
        regional_sts: false,
        expiration: 86400,
        default_expiration: false,
    };
    let out = mutated(
        &json!({"spec": {"containers": [{"name": "c"}]}}),
        &explicit,
        &cfg,
    );
    assert_eq!(
        out["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        86400
    );
    assert_eq!(
        out["metadata"]["labels"],
        json!({"eks.amazonaws.com/pod-identity": "enabled"})
    );
}

#[test]
fn no_identity_no_patch() {
    let pod = json!({"spec": {"containers": [{"name": "c"}]}});
    let m = mutate_pod(
        &pod,
        &Identity::None,
        &MutationConfig::default(),
        &mut StdRng::seed_from_u64(0),
    );
    assert!(m.patch.0.is_empty() && m.mode.is_none());
}

#[test]
fn patch_never_replaces_a_container() {
    let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "env": [], "volumeMounts": []}]}});
    let patch = ops(&mutate_pod(
        &pod,
        &web(),
        &MutationConfig::default(),
        &mut StdRng::seed_from_u64(0),
    )
    .patch);
    for op in &patch {
        assert_eq!(op["op"], "add");
        let path = op["path"].as_str().unwrap();
        assert!(
            path != "/spec/containers"
                && !path.ends_with("/containers/0")
                && !path.ends_with("/containers/1"),
            "{path}"
        );
    }
}
