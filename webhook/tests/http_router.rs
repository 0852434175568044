//! Router status paths via `oneshot` (no ports), with a stand-in reviewer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use futures::FutureExt;
use futures::future::BoxFuture;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::{
    AppState, MAX_BODY_BYTES, ReviewReply, Reviewer, metrics_router, router,
};
use tower::ServiceExt;

/// Mutates when the body mentions "annotated", allows otherwise, rejects non-JSON.
struct StubReviewer;

impl Reviewer for StubReviewer {
    fn review<'a>(&'a self, body: &'a [u8]) -> BoxFuture<'a, Result<ReviewReply, String>> {
        async move {
            let v: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| format!("couldn't decode AdmissionReview: {e}"))?;
            let annotated = v.to_string().contains("annotated");
            let response = if annotated {
                serde_json::json!({"response": {"allowed": true, "patchType": "JSONPatch", "patch": "W10="}})
            } else {
                serde_json::json!({"response": {"allowed": true}})
            };
            Ok(ReviewReply {
                json: serde_json::to_vec(&response).map_err(|e| e.to_string())?,
                mutated_method: annotated.then(|| "sts".to_string()),
                missing_sa: !annotated,
            })
        }
        .boxed()
    }
}

fn state(ready: Arc<AtomicBool>) -> AppState {
    AppState {
        reviewer: Arc::new(StubReviewer),
        ready: Arc::new(move || {
            if ready.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err("ServiceAccount cache not synced yet".into())
            }
        }),
        metrics: Metrics::new(),
    }
}

fn post(body: impl Into<Body>, content_type: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/mutate");
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(body.into()).unwrap()
}

async fn text(resp: axum::response::Response) -> String {
    String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

#[tokio::test]
async fn mutate_with_patch() {
    let app = router(state(Arc::new(AtomicBool::new(true))));
    let resp = app
        .oneshot(post(r#"{"request":"annotated"}"#, Some("application/json")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    let v: serde_json::Value = serde_json::from_str(&text(resp).await).unwrap();
    assert_eq!(v["response"]["patchType"], "JSONPatch");
}

#[tokio::test]
async fn mutate_no_op_accepts_charset_parameter() {
    let app = router(state(Arc::new(AtomicBool::new(true))));
    let resp = app
        .oneshot(post(
            r#"{"request":"plain"}"#,
            Some("application/json; charset=utf-8"),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&text(resp).await).unwrap();
    assert!(v["response"].get("patch").is_none());
}

#[tokio::test]
async fn wrong_content_type_is_415_with_a_message() {
    for ct in [Some("text/plain"), None] {
        let app = router(state(Arc::new(AtomicBool::new(true))));
        let resp = app.oneshot(post("{}", ct)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(text(resp).await.contains("expected application/json"));
    }
}

#[tokio::test]
async fn undecodable_is_400_with_the_reason() {
    let app = router(state(Arc::new(AtomicBool::new(true))));
    let resp = app
        .oneshot(post("{not json", Some("application/json")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(text(resp).await.contains("couldn't decode AdmissionReview"));
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = router(state(Arc::new(AtomicBool::new(true))));
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let resp = app
        .oneshot(post(body, Some("application/json")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn wrong_method_is_405() {
    let app = router(state(Arc::new(AtomicBool::new(true))));
    let resp = app
        .oneshot(Request::get("/mutate").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn healthz_ok() {
    let app = router(state(Arc::new(AtomicBool::new(false))));
    let resp = app
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(text(resp).await, "ok");
}

#[tokio::test]
async fn readyz_follows_the_sync() {
    let ready = Arc::new(AtomicBool::new(false));
    let app = router(state(Arc::clone(&ready)));
    let resp = app
        .clone()
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(text(resp).await.contains("not synced"));
    ready.store(true, Ordering::SeqCst);
    let resp = app
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_after_requests() {
    let st = state(Arc::new(AtomicBool::new(true)));
    let metrics = Arc::clone(&st.metrics);
    let app = router(st);
    for body in [r#"{"x":"annotated"}"#, r#"{"x":"plain"}"#] {
        let resp = app
            .clone()
            .oneshot(post(body, Some("application/json")))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let resp = app
        .clone()
        .oneshot(post("{}", Some("text/plain")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let resp = metrics_router(metrics)
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let t = text(resp).await;
    assert!(
        t.contains(r#"http_request_count{code="200",path="/mutate",verb="POST"} 2"#),
        "{t}"
    );
    assert!(
        t.contains(r#"http_request_count{code="415",path="/mutate",verb="POST"} 1"#),
        "{t}"
    );
    assert!(
        t.contains(r#"http_request_latencies_count{path="/mutate",verb="POST"} 3"#),
        "{t}"
    );
    assert!(
        t.contains(r#"pod_identity_webhook_pod_count{method="sts"} 1"#),
        "{t}"
    );
    assert!(t.contains("pod_identity_webhook_missing_sa_count 1"), "{t}");
}

/// 200 made-up methods once grew `/metrics` from 49 to 2,249 lines: one series per method.
/// Unknown methods are folded into `verb="other"`, as unknown paths are into `path="other"`.
#[tokio::test]
async fn unknown_methods_are_folded_so_metrics_stay_bounded() {
    let st = state(Arc::new(AtomicBool::new(true)));
    let metrics = Arc::clone(&st.metrics);
    let app = router(st);
    let scrape = || async {
        let resp = metrics_router(Arc::clone(&metrics))
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        text(resp).await
    };
    let send = |method: String, path: &'static str| {
        let app = app.clone();
        async move {
            let req = Request::builder()
                .method(method.as_str())
                .uri(path)
                .body(Body::empty())
                .unwrap();
            app.oneshot(req).await.unwrap().status()
        }
    };
    assert_eq!(
        send("XMETHOD".into(), "/mutate").await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let baseline = scrape().await.lines().count();
    for i in 0..200 {
        let status = send(format!("M{i:03}X"), "/mutate").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
    let t = scrape().await;
    assert_eq!(
        t.lines().count(),
        baseline,
        "200 new methods added series:\n{t}"
    );
    assert!(!t.contains("M000X") && !t.contains("XMETHOD"), "{t}");
    assert!(
        t.contains(r#"http_request_count{code="405",path="/mutate",verb="other"} 201"#),
        "{t}"
    );
    // Standard methods keep their own label.
    assert_eq!(
        send("DELETE".into(), "/mutate").await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert!(
        scrape()
            .await
            .contains(r#"http_request_count{code="405",path="/mutate",verb="DELETE"} 1"#)
    );
}
