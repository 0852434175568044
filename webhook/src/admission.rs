//! AdmissionReview in, AdmissionReview out: the same code path serves `/mutate` and the
//! offline `mutate` subcommand.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use futures::FutureExt;
use futures::future::BoxFuture;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::config::MutationConfig;
use crate::identity::{IdentitySources, Subject, resolve};
use crate::mutation::{Mode, mutate_pod};
use crate::server::router::{ReviewReply, Reviewer};

/// A review's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewOutcome {
    /// The AdmissionReview to send back.
    pub response: Value,
    /// The JSON patch (empty when nothing changes).
    pub patch: Vec<Value>,
    pub mode: Option<Mode>,
    /// The pod's ServiceAccount was not found.
    pub missing_sa: bool,
    pub warnings: Vec<String>,
}

/// A body that is not an AdmissionReview at all (answered with HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("couldn't decode AdmissionReview: {0}")]
pub struct ReviewError(pub String);

const VERSIONS: &[&str] = &["admission.k8s.io/v1", "admission.k8s.io/v1beta1"];

fn allow(api_version: &str, uid: &str, message: Option<String>) -> Value {
    let mut response = json!({"uid": uid, "allowed": true});
    if let Some(message) = message {
        response["status"] = json!({"message": message});
    }
    json!({"apiVersion": api_version, "kind": "AdmissionReview", "response": response})
}

/// Reviews one AdmissionReview body.
///
/// Improving on the reference, a review whose pod cannot be read is *allowed* (the
/// webhook's failurePolicy is Ignore: a broken review must not block pods), with a
/// `status.message` naming the problem; only a body without a usable `request.uid` is an
/// error, because there is nothing to answer.
pub async fn review(
    body: &[u8],
    sources: &dyn IdentitySources,
    cfg: &MutationConfig,
    rng: &mut (dyn rand::RngCore + Send),
) -> Result<ReviewOutcome, ReviewError> {
    let review: Value = serde_json::from_slice(body).map_err(|e| ReviewError(e.to_string()))?;
    let api_version = review["apiVersion"].as_str().unwrap_or_default().to_owned();
    if !VERSIONS.contains(&api_version.as_str())
        || review["kind"].as_str() != Some("AdmissionReview")
    {
        return Err(ReviewError(format!(
            "expected kind AdmissionReview with apiVersion admission.k8s.io/v1 or v1beta1, got kind {} apiVersion {}",
            review["kind"], review["apiVersion"]
        )));
    }
    let request = &review["request"];
    let uid = request["uid"]
        .as_str()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ReviewError("request.uid is missing".into()))?
        .to_owned();
    let unchanged = |message: String| ReviewOutcome {
        response: allow(&api_version, &uid, Some(message.clone())),
        patch: Vec::new(),
        mode: None,
        missing_sa: false,
        warnings: vec![message],
    };
    let pod = &request["object"];
    if !pod.is_object() || !pod["spec"].is_object() {
        return Ok(unchanged(
            "request.object is not a pod with a spec; allowed unchanged".into(),
        ));
    }
    if let Some(kind) = request["kind"]["kind"].as_str()
        && kind != "Pod"
    {
        return Ok(unchanged(format!(
            "request is for a {kind}, not a Pod; allowed unchanged"
        )));
    }

    let namespace = request["namespace"]
        .as_str()
        .or_else(|| pod["metadata"]["namespace"].as_str())
        .unwrap_or("default")
        .to_owned();
    let sa_name = pod["spec"]["serviceAccountName"]
        .as_str()
        .or_else(|| pod["spec"]["serviceAccount"].as_str())
        .unwrap_or("default")
        .to_owned();
    let sa = sources.service_account(&namespace, &sa_name).await;
    let pod_annotations: BTreeMap<String, String> = pod["metadata"]["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let mut warnings = Vec::new();
    let subject = Subject {
        namespace: &namespace,
        service_account: &sa_name,
        sa: sa.as_ref(),
        pod_annotations: &pod_annotations,
    };
    let identity = resolve(
        &subject,
        &sources.configmap(),
        &sources.container_credentials(),
        cfg,
        &mut warnings,
    );
    let mutation = mutate_pod(pod, &identity, cfg, rng);
    let mut response = allow(&api_version, &uid, None);
    if !mutation.patch.is_empty() {
        let patch_json =
            serde_json::to_vec(&mutation.patch).map_err(|e| ReviewError(e.to_string()))?;
        response["response"]["patchType"] = json!("JSONPatch");
        response["response"]["patch"] =
            json!(base64::engine::general_purpose::STANDARD.encode(patch_json));
    }
    if !warnings.is_empty() {
        response["response"]["warnings"] = json!(warnings);
    }
    Ok(ReviewOutcome {
        response,
        patch: mutation.patch,
        mode: mutation.mode.filter(|_| true),
        missing_sa: sa.is_none(),
        warnings,
    })
}

/// The `/mutate` reviewer: sources, configuration and the jitter's random source.
pub struct Admission<S> {
    sources: Arc<S>,
    cfg: MutationConfig,
    rng: Mutex<StdRng>,
}

impl<S> std::fmt::Debug for Admission<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl<S: IdentitySources + 'static> Admission<S> {
    pub fn new(sources: Arc<S>, cfg: MutationConfig) -> Self {
        Self {
            sources,
            cfg,
            rng: Mutex::new(StdRng::from_entropy()),
        }
    }
}

impl<S: IdentitySources + 'static> Reviewer for Admission<S> {
    fn review<'a>(&'a self, body: &'a [u8]) -> BoxFuture<'a, Result<ReviewReply, String>> {
        async move {
            // A per-review generator seeded from the shared one keeps the lock off the await.
            let mut rng = {
                let mut shared = self.rng.lock().unwrap_or_else(|p| p.into_inner());
                StdRng::from_rng(&mut *shared).unwrap_or_else(|_| StdRng::from_entropy())
            };
            let outcome = review(body, self.sources.as_ref(), &self.cfg, &mut rng)
                .await
                .map_err(|e| e.to_string())?;
            for warning in &outcome.warnings {
                tracing::warn!("{warning}");
            }
            let json = serde_json::to_vec(&outcome.response).map_err(|e| e.to_string())?;
            let mutated_method = outcome
                .mode
                .filter(|_| !outcome.patch.is_empty())
                .map(|m| m.metric_label().to_owned());
            Ok(ReviewReply {
                json,
                mutated_method,
                missing_sa: outcome.missing_sa,
            })
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{ServiceAccountInfo, StaticSources};

    fn sources() -> StaticSources {
        StaticSources {
            service_accounts: vec![ServiceAccountInfo::with_role_arn(
                "default",
                "app",
                "eks.amazonaws.com",
                "arn:aws:iam::111122223333:role/app",
            )],
            ..StaticSources::default()
        }
    }

    fn body(api_version: &str, sa: &str) -> Vec<u8> {
        json!({
            "apiVersion": api_version, "kind": "AdmissionReview",
            "request": {"uid": "u-1", "namespace": "default", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE",
                "object": {"metadata": {"name": "p"}, "spec": {"serviceAccountName": sa, "containers": [{"name": "c", "image": "x"}]}}}
        })
        .to_string()
        .into_bytes()
    }

    async fn run(body: &[u8]) -> Result<ReviewOutcome, ReviewError> {
        review(
            body,
            &sources(),
            &MutationConfig::default(),
            &mut StdRng::seed_from_u64(1),
        )
        .await
    }

    #[tokio::test]
    async fn echoes_version_kind_and_uid_for_v1_and_v1beta1() {
        for version in VERSIONS {
            let out = run(&body(version, "app")).await.unwrap();
            assert_eq!(out.response["apiVersion"], *version);
            assert_eq!(out.response["kind"], "AdmissionReview");
            assert_eq!(out.response["response"]["uid"], "u-1");
            assert_eq!(out.response["response"]["allowed"], true);
            assert_eq!(out.response["response"]["patchType"], "JSONPatch");
            let patch = base64::engine::general_purpose::STANDARD
                .decode(out.response["response"]["patch"].as_str().unwrap())
                .unwrap();
            assert_eq!(
                serde_json::from_slice::<Vec<Value>>(&patch).unwrap(),
                out.patch
            );
        }
    }

    #[tokio::test]
    async fn no_role_means_no_patch_and_missing_sa_is_reported() {
        let out = run(&body("admission.k8s.io/v1", "nobody")).await.unwrap();
        assert!(out.patch.is_empty() && out.missing_sa);
        assert!(out.response["response"].get("patch").is_none());
        assert!(out.response["response"].get("patchType").is_none());
    }

    #[tokio::test]
    async fn undecodable_input() {
        assert!(
            run(b"not json")
                .await
                .unwrap_err()
                .to_string()
                .starts_with("couldn't decode AdmissionReview:")
        );
        assert!(run(br#"{"apiVersion":"v1","kind":"Pod"}"#).await.is_err());
        assert!(
            run(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}"#)
                .await
                .unwrap_err()
                .to_string()
                .contains("uid")
        );
        // A readable uid but no pod: allowed, with the problem named.
        let out = run(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":"garbage"}}"#).await.unwrap();
        assert_eq!(out.response["response"]["allowed"], true);
        assert!(
            out.response["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .contains("not a pod")
        );
    }
}
