//! AdmissionReview in, AdmissionReview out: the same code path serves `/mutate` and the
//! offline `mutate` subcommand.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use futures::FutureExt;
use futures::future::BoxFuture;
use json_patch::Patch;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::config::MutationConfig;
use crate::identity::{IdentitySources, Subject, resolve};
use crate::mutation::{Mode, mutate_pod};
use crate::server::router::{ReviewReply, Reviewer};

/// A review's outcome.
#[derive(Debug, Clone)]
pub struct ReviewOutcome {
    /// The AdmissionReview to send back, in the request's apiVersion; the patch is
    /// added by [`ReviewOutcome::to_json`].
    pub response: AdmissionReview<DynamicObject>,
    /// The JSON patch (empty when nothing changes).
    pub patch: Patch,
    pub mode: Option<Mode>,
    /// The pod's ServiceAccount was not found.
    pub missing_sa: bool,
    pub warnings: Vec<String>,
}

impl ReviewOutcome {
    /// The response body: kube's AdmissionReview with the patch base64-encoded.
    ///
    /// kube-core 5 serialises `AdmissionResponse::patch` as an array of numbers
    /// (kube-rs/kube#1781); the admission API's JSON form, which the reference and the
    /// apiserver use, is a base64 string. So the typed response carries no patch and the
    /// patch is added here, next to it.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let patch = (!self.patch.0.is_empty())
            .then(|| serde_json::to_vec(&self.patch))
            .transpose()?
            .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes));
        serde_json::to_vec(&WireReview {
            types: &self.response.types,
            response: self.response.response.as_ref().map(|inner| WireResponse {
                inner,
                patch_type: patch.as_ref().map(|_| "JSONPatch"),
                patch,
            }),
        })
    }
}

#[derive(serde::Serialize)]
struct WireReview<'a> {
    #[serde(flatten)]
    types: &'a kube::core::TypeMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<WireResponse<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct WireResponse<'a> {
    #[serde(flatten)]
    inner: &'a AdmissionResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<String>,
}

/// A body that is not an AdmissionReview at all (answered with HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("couldn't decode AdmissionReview: {0}")]
pub struct ReviewError(pub String);

const VERSIONS: &[&str] = &["admission.k8s.io/v1", "admission.k8s.io/v1beta1"];

/// `allowed: true` with `status.message` naming why nothing was done.
fn allowed_with_message(
    request: &AdmissionRequest<DynamicObject>,
    message: &str,
) -> AdmissionResponse {
    let mut response = AdmissionResponse::from(request);
    response.result.message = message.to_owned();
    response
}

fn version_error(kind: &Value, api_version: &Value) -> ReviewError {
    ReviewError(format!(
        "expected kind AdmissionReview with apiVersion admission.k8s.io/v1 or v1beta1, got kind {kind} apiVersion {api_version}"
    ))
}

/// Answers a body kube's types cannot decode. Not a v1/v1beta1 review, or no readable
/// `request.uid`: an error (nobody to answer). Otherwise "allowed, unchanged" with the
/// reason, since the webhook's failurePolicy is Ignore.
fn undecodable(body: &[u8], error: &serde_json::Error) -> Result<ReviewOutcome, ReviewError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ReviewError(error.to_string()))?;
    let api_version = value["apiVersion"].as_str().unwrap_or_default();
    if !VERSIONS.contains(&api_version) || value["kind"].as_str() != Some("AdmissionReview") {
        return Err(version_error(&value["kind"], &value["apiVersion"]));
    }
    let Some(uid) = value["request"]["uid"].as_str().filter(|u| !u.is_empty()) else {
        return Err(ReviewError(format!(
            "{error} (and request.uid is missing, so there is nothing to answer)"
        )));
    };
    let message = format!("couldn't decode AdmissionReview: {error}; allowed unchanged");
    let mut response = AdmissionResponse::invalid(&message);
    response.allowed = true;
    response.uid = uid.to_owned();
    response.types.api_version = api_version.to_owned();
    Ok(ReviewOutcome {
        response: response.into_review(),
        patch: Patch::default(),
        mode: None,
        missing_sa: false,
        warnings: vec![message],
    })
}

/// Reviews one AdmissionReview body (decoded with kube's admission types).
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
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(body) {
        Ok(review) => review,
        Err(e) => return undecodable(body, &e),
    };
    if !VERSIONS.contains(&review.types.api_version.as_str())
        || review.types.kind != "AdmissionReview"
    {
        return Err(version_error(
            &Value::from(review.types.kind),
            &Value::from(review.types.api_version),
        ));
    }
    let mut request: AdmissionRequest<DynamicObject> = review
        .try_into()
        .map_err(|_| ReviewError("request is missing".into()))?;
    if request.uid.is_empty() {
        return Err(ReviewError("request.uid is missing".into()));
    }
    let unchanged = |request: &AdmissionRequest<DynamicObject>, message: String| {
        Ok(ReviewOutcome {
            response: allowed_with_message(request, &message).into_review(),
            patch: Patch::default(),
            mode: None,
            missing_sa: false,
            warnings: vec![message],
        })
    };
    if request.kind.kind != "Pod" {
        let message = format!(
            "request is for a {}, not a Pod; allowed unchanged",
            request.kind.kind
        );
        return unchanged(&request, message);
    }
    let Some(object) = request.object.take().filter(|o| o.data["spec"].is_object()) else {
        return unchanged(
            &request,
            "request.object is not a pod with a spec; allowed unchanged".into(),
        );
    };

    let namespace = request
        .namespace
        .clone()
        .or_else(|| object.metadata.namespace.clone())
        .unwrap_or_else(|| "default".into());
    // As the reference: `spec.serviceAccountName` only. The apiserver copies the
    // deprecated `spec.serviceAccount` into it before admission, so a review never needs it.
    let sa_name = object.data["spec"]["serviceAccountName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_owned();
    let sa = sources.service_account(&namespace, &sa_name).await;
    let pod_annotations: BTreeMap<String, String> =
        object.metadata.annotations.clone().unwrap_or_default();
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
    let pod = pod_json(object).map_err(|e| ReviewError(e.to_string()))?;
    let mutation = mutate_pod(&pod, &identity, cfg, rng);
    // The patch travels beside the typed response (see `ReviewOutcome::to_json`).
    let mut response = AdmissionResponse::from(&request);
    if !warnings.is_empty() {
        response.warnings = Some(warnings.clone());
    }
    Ok(ReviewOutcome {
        response: response.into_review(),
        patch: mutation.patch,
        mode: mutation.mode,
        missing_sa: sa.is_none(),
        warnings,
    })
}

/// The pod as JSON, as the mutation reads it: kube keeps `metadata` apart from the rest.
fn pod_json(object: DynamicObject) -> Result<Value, serde_json::Error> {
    let mut pod = object.data;
    if let Value::Object(map) = &mut pod {
        map.insert("metadata".into(), serde_json::to_value(&object.metadata)?);
    }
    Ok(pod)
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
            let json = outcome.to_json().map_err(|e| e.to_string())?;
            let mutated_method = outcome
                .mode
                .filter(|_| !outcome.patch.0.is_empty())
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
    use serde_json::json;

    use crate::identity::{ServiceAccountInfo, StaticSources};

    fn sources() -> StaticSources {
        StaticSources {
            service_accounts: vec![
                ServiceAccountInfo::with_role_arn(
                    "default",
                    "app",
                    "eks.amazonaws.com",
                    "arn:aws:iam::111122223333:role/app",
                ),
                ServiceAccountInfo::with_role_arn(
                    "default",
                    "default",
                    "eks.amazonaws.com",
                    "arn:aws:iam::111122223333:role/default",
                ),
            ],
            ..StaticSources::default()
        }
    }

    fn body_with_spec(api_version: &str, spec: Value) -> Vec<u8> {
        json!({
            "apiVersion": api_version, "kind": "AdmissionReview",
            "request": {"uid": "u-1", "namespace": "default",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "operation": "CREATE", "userInfo": {"username": "system:admin"},
                "object": {"metadata": {"name": "p"}, "spec": spec}}
        })
        .to_string()
        .into_bytes()
    }

    fn body(api_version: &str, sa: &str) -> Vec<u8> {
        body_with_spec(
            api_version,
            json!({"serviceAccountName": sa, "containers": [{"name": "c", "image": "x"}]}),
        )
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

    fn json_of(outcome: &ReviewOutcome) -> Value {
        serde_json::from_slice(&outcome.to_json().unwrap()).unwrap()
    }

    fn role_in_patch(outcome: &ReviewOutcome) -> Option<String> {
        let ops = serde_json::to_value(&outcome.patch).unwrap();
        ops.as_array()?.iter().find_map(|op| {
            op["value"].as_array()?.iter().find_map(|env| {
                (env["name"] == "AWS_ROLE_ARN").then(|| env["value"].as_str().unwrap().to_owned())
            })
        })
    }

    #[tokio::test]
    async fn echoes_version_kind_and_uid_for_v1_and_v1beta1() {
        for version in VERSIONS {
            let out = run(&body(version, "app")).await.unwrap();
            let response = json_of(&out);
            assert_eq!(response["apiVersion"], *version);
            assert_eq!(response["kind"], "AdmissionReview");
            assert_eq!(response["response"]["uid"], "u-1");
            assert_eq!(response["response"]["allowed"], true);
            assert_eq!(response["response"]["patchType"], "JSONPatch");
            let patch = base64::engine::general_purpose::STANDARD
                .decode(response["response"]["patch"].as_str().unwrap())
                .unwrap();
            assert_eq!(serde_json::from_slice::<Patch>(&patch).unwrap(), out.patch);
        }
    }

    #[tokio::test]
    async fn no_role_means_no_patch_and_missing_sa_is_reported() {
        let out = run(&body("admission.k8s.io/v1", "nobody")).await.unwrap();
        assert!(out.patch.0.is_empty() && out.missing_sa);
        let response = json_of(&out);
        assert!(response["response"].get("patch").is_none());
        assert!(response["response"].get("patchType").is_none());
    }

    /// `/mutate` and the offline mode read `spec.serviceAccountName` only, as the
    /// reference does; the deprecated `spec.serviceAccount` is never consulted.
    #[tokio::test]
    async fn the_deprecated_service_account_field_is_ignored() {
        let legacy_only = body_with_spec(
            "admission.k8s.io/v1",
            json!({"serviceAccount": "app", "containers": [{"name": "c"}]}),
        );
        let out = run(&legacy_only).await.unwrap();
        assert_eq!(
            role_in_patch(&out).as_deref(),
            Some("arn:aws:iam::111122223333:role/default")
        );
        let both = body_with_spec(
            "admission.k8s.io/v1",
            json!({"serviceAccountName": "default", "serviceAccount": "app", "containers": [{"name": "c"}]}),
        );
        let out = run(&both).await.unwrap();
        assert_eq!(
            role_in_patch(&out).as_deref(),
            Some("arn:aws:iam::111122223333:role/default")
        );
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
        // A readable uid but no pod: allowed, with the problem named, in the same version.
        let out = run(br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u","object":"garbage"}}"#).await.unwrap();
        let response = json_of(&out);
        assert_eq!(response["apiVersion"], "admission.k8s.io/v1beta1");
        assert_eq!(response["response"]["uid"], "u");
        assert_eq!(response["response"]["allowed"], true);
        assert!(
            response["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .contains("couldn't decode AdmissionReview"),
            "{response}"
        );
        // A pod without a spec, and another kind: allowed unchanged, with the reason.
        let no_spec = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "operation": "CREATE", "userInfo": {}, "object": {"metadata": {"name": "p"}}}});
        let out = run(no_spec.to_string().as_bytes()).await.unwrap();
        assert!(
            json_of(&out)["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .contains("not a pod")
        );
    }
}
