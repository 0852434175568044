//! The HTTPS router: `/mutate`, `/healthz`, `/readyz`.
//!
//! Built by a function over [`AppState`] so tests drive it with `oneshot`, without ports.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::future::BoxFuture;

use super::metrics::Metrics;

/// Largest accepted AdmissionReview body: the apiserver's own request limit (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// A reviewed AdmissionReview, serialised, with what the metrics need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewReply {
    /// The response AdmissionReview JSON.
    pub json: Vec<u8>,
    /// The mutation method when the pod was mutated (`sts`, `container-credentials`).
    pub mutated_method: Option<String>,
    /// Whether the pod's ServiceAccount was not found.
    pub missing_sa: bool,
}

/// Turns an AdmissionReview body into a response; `Err` is a message for a 400.
pub trait Reviewer: Send + Sync {
    /// Reviews one request body.
    fn review<'a>(&'a self, body: &'a [u8]) -> BoxFuture<'a, Result<ReviewReply, String>>;
}

/// Readiness: `Ok` when ready, else the reason.
pub type ReadinessCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The admission logic.
    pub reviewer: Arc<dyn Reviewer>,
    /// Readiness probe.
    pub ready: ReadinessCheck,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The HTTPS router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/mutate", post(mutate))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            observe,
        ))
        .with_state(state)
}

/// The metrics router (plain HTTP, its own port).
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(m): State<Arc<Metrics>>| async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    m.render(),
                )
            }),
        )
        .with_state(metrics)
}

async fn observe(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let verb = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    metrics.observe_request(&verb, &path, resp.status().as_u16(), start.elapsed());
    resp
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

async fn mutate(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_json(&headers) {
        let got = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("invalid Content-Type {got:?}, expected application/json\n"),
        )
            .into_response();
    }
    match state.reviewer.review(&body).await {
        Ok(reply) => {
            if let Some(method) = &reply.mutated_method {
                state.metrics.pod_mutated(method);
            }
            if reply.missing_sa {
                state.metrics.missing_sa();
            }
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(reply.json))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Err(message) => (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match (state.ready)() {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}
