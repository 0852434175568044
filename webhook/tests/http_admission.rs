//! `/mutate` with the real admission path (not a stand-in reviewer), through the router.

use std::sync::Arc;

use axum::body::Body;
use base64::Engine;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use pod_identity_webhook::admission::Admission;
use pod_identity_webhook::config::MutationConfig;
use pod_identity_webhook::identity::{ServiceAccountInfo, StaticSources};
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::{AppState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

fn app() -> (axum::Router, Arc<Metrics>) {
    let sources = StaticSources {
        service_accounts: vec![ServiceAccountInfo::with_role_arn(
            "default",
            "app",
            "eks.amazonaws.com",
            "arn:aws:iam::111122223333:role/app",
        )],
        ..StaticSources::default()
    };
    let metrics = Metrics::new();
    let state = AppState {
        reviewer: Arc::new(Admission::new(Arc::new(sources), MutationConfig::default())),
        ready: Arc::new(|| Ok(())),
        metrics: Arc::clone(&metrics),
    };
    (router(state), metrics)
}

async fn post(app: &axum::Router, review: &Value) -> (StatusCode, Value) {
    let request = Request::post("/mutate")
        .header("content-type", "application/json")
        .body(Body::from(review.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn review(version: &str, sa: &str) -> Value {
    json!({
        "apiVersion": version, "kind": "AdmissionReview",
        "request": {"uid": "7f4e", "namespace": "default", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"}, "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"serviceAccountName": sa, "containers": [{"name": "c", "image": "x"}]}}}
    })
}

#[tokio::test]
async fn mutate_returns_the_real_patch_for_v1_and_v1beta1() {
    let (app, metrics) = app();
    for version in ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] {
        let (status, body) = post(&app, &review(version, "app")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (
                body["apiVersion"].as_str(),
                body["response"]["uid"].as_str()
            ),
            (Some(version), Some("7f4e"))
        );
        let patch: Vec<Value> = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(body["response"]["patch"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert!(patch.iter().any(|op| op["path"] == "/spec/containers/0/env"
            && op["value"][0]["value"] == "arn:aws:iam::111122223333:role/app"));
    }
    let (status, body) = post(&app, &review("admission.k8s.io/v1", "unknown")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["response"].get("patch").is_none());
    let text = metrics.render();
    assert!(
        text.contains("pod_identity_webhook_pod_count{method=\"sts\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("pod_identity_webhook_missing_sa_count 1"),
        "{text}"
    );
}

/// `/mutate` reads `spec.serviceAccountName` only (default `default`), like the reference;
/// a pod naming its SA in the deprecated `spec.serviceAccount` runs as `default`.
#[tokio::test]
async fn the_deprecated_service_account_field_is_ignored() {
    let (app, _) = app();
    let mut legacy = review("admission.k8s.io/v1", "app");
    let spec = &mut legacy["request"]["object"]["spec"];
    spec.as_object_mut().unwrap().remove("serviceAccountName");
    spec["serviceAccount"] = json!("app");
    let (status, body) = post(&app, &legacy).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], true);
    // `default` has no role here, so nothing is injected although `app` has one.
    assert!(body["response"].get("patch").is_none(), "{body}");
}

/// A review kube's types cannot read but with a uid (here without `userInfo`): allowed
/// unchanged, in the version it came in, with the reason.
#[tokio::test]
async fn an_undecodable_review_with_a_uid_is_allowed_with_the_reason() {
    let (app, _) = app();
    let mut broken = review("admission.k8s.io/v1beta1", "app");
    broken["request"]
        .as_object_mut()
        .unwrap()
        .remove("userInfo");
    let (status, body) = post(&app, &broken).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(body["response"]["uid"], "7f4e");
    assert_eq!(body["response"]["allowed"], true);
    assert!(body["response"].get("patch").is_none());
    let message = body["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("userInfo"), "{message}");
}
