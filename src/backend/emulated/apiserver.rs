//! The apiserver model: TokenRequest with kube-apiserver's validation, expiration rules
//! and claims; the discovery endpoints, served over real HTTPS with their own CA so an
//! issuer can be hosted on the apiserver itself; restarts with new flags.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use irsa_emulator::clock::Clock;
use irsa_emulator::issuer::{
    BoundTokenRequest, DiscoveryDocument, KidMode, ObjectRef, extend_expiration, sign_bound_token,
    sign_raw,
};

use super::tls::TlsServer;
use crate::backend::{BackendError, ClusterState, KubeError, TokenRequest};

/// Shortest TokenRequest kube-apiserver accepts.
const MIN_EXPIRATION_SECONDS: i64 = 600;
/// Longest: 2^32 seconds.
const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// What TokenRequest uses without `expirationSeconds`.
const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;

/// The object a token is bound to, as the claims name it.
#[derive(Debug, Clone)]
pub struct Binding {
    pub pod: ObjectRef,
    pub node: Option<ObjectRef>,
}

/// The emulated kube-apiserver's token side.
#[derive(Debug)]
pub struct Apiserver {
    state: Arc<Shared>,
    server: TlsServer,
}

struct Shared {
    cluster: RwLock<ClusterState>,
    clock: Arc<dyn Clock>,
    addr: RwLock<Option<SocketAddr>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Apiserver {
    pub async fn start(
        cluster: &ClusterState,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BackendError> {
        let state = Arc::new(Shared {
            cluster: RwLock::new(cluster.clone()),
            clock,
            addr: RwLock::new(None),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(serve_discovery))
            .route("/openid/v1/jwks", get(serve_jwks))
            .with_state(state.clone());
        let server = TlsServer::start(router)
            .await
            .map_err(|source| BackendError::Start {
                component: "the apiserver's discovery endpoints",
                source,
            })?;
        *state.addr.write().unwrap_or_else(|e| e.into_inner()) = Some(server.addr);
        Ok(Self { state, server })
    }

    fn cluster(&self) -> std::sync::RwLockReadGuard<'_, ClusterState> {
        self.state.cluster.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A restart with new flags (same address, as a static-pod restart keeps it).
    pub fn reconfigure(&self, cluster: &ClusterState) {
        *self
            .state
            .cluster
            .write()
            .unwrap_or_else(|e| e.into_inner()) = cluster.clone();
    }

    /// The running Kubernetes version.
    pub fn version(&self) -> (u32, u32) {
        self.cluster().version
    }

    /// The apiserver's clock (virtual time plus the cluster's offset), in seconds.
    pub fn now(&self) -> i64 {
        self.state.clock.now().unix_timestamp() + self.cluster().clock_offset
    }

    /// `(https URL of the discovery endpoints, CA PEM)`.
    pub fn endpoint(&self) -> (String, String) {
        (
            format!("https://{}", self.server.addr),
            self.server.ca_pem.clone(),
        )
    }

    /// TokenRequest, with kube-apiserver's validation and expiration rules.
    pub fn issue(
        &self,
        request: &TokenRequest,
        service_account_uid: &str,
        binding: Option<&Binding>,
    ) -> Result<String, KubeError> {
        let cluster = self.cluster();
        let requested = request
            .expiration_seconds
            .unwrap_or(DEFAULT_EXPIRATION_SECONDS);
        // The name kube quotes is the TokenRequest object's, which clients leave empty
        // (`kubectl create token` does): `""`, seen from a real kube-apiserver 1.34.
        let invalid = |detail: String| {
            KubeError::new(
                "Invalid",
                format!(
                    "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: {requested}: {detail}"
                ),
            )
        };
        if requested < MIN_EXPIRATION_SECONDS {
            return Err(invalid(
                "may not specify a duration less than 10 minutes".into(),
            ));
        }
        if requested > MAX_EXPIRATION_SECONDS {
            return Err(invalid(
                "may not specify a duration larger than 2^32 seconds".into(),
            ));
        }
        let audiences = if request.audiences.is_empty() {
            cluster.api_audiences()
        } else {
            request.audiences.clone()
        };
        let issued_at = self.state.clock.now().unix_timestamp() + cluster.clock_offset;
        let mut seconds = requested;
        let extended = extend_expiration(
            seconds,
            issued_at,
            cluster.extend_token_expiration,
            binding.is_some(),
            &audiences,
            &cluster.api_audiences(),
        );
        if extended.warn_after.is_none()
            && let Some(max) = cluster.max_token_expiration
        {
            seconds = seconds.min(max);
        } else {
            seconds = extended.expiration_seconds;
        }
        let token = BoundTokenRequest {
            issuer: cluster.issuers.first().cloned().unwrap_or_default(),
            audiences,
            namespace: request.namespace.clone(),
            service_account: ObjectRef::new(&request.service_account, service_account_uid),
            pod: binding.map(|b| b.pod.clone()),
            node: binding
                .and_then(|b| b.node.clone())
                .filter(|_| cluster.has_node_claim()),
            secret: None,
            issued_at,
            expiration_seconds: seconds,
            warn_after: extended.warn_after,
            jti: cluster.has_jti().then(BoundTokenRequest::random_jti),
        };
        // A kid given in the scenario (a customer's, kept by `scenario from-bundle`):
        // the same header shape, that kid instead of the derived one.
        if let (Some(kid), KidMode::Sha256) = (cluster.signing_kid_override(), cluster.kid_mode()) {
            let header =
                serde_json::json!({"alg": cluster.signer().algorithm().as_str(), "kid": kid});
            return Ok(sign_raw(&header, &token.claims(), cluster.signer()));
        }
        Ok(sign_bound_token(
            &token,
            cluster.signer(),
            cluster.kid_mode(),
        ))
    }

    /// `(discovery, jwks)` as the apiserver serves them.
    pub fn documents(&self) -> (String, String) {
        let addr = *self.state.addr.read().unwrap_or_else(|e| e.into_inner());
        documents(&self.cluster(), addr)
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn documents(cluster: &ClusterState, addr: Option<SocketAddr>) -> (String, String) {
    let keys = cluster.verification_public_keys();
    let default_uri = addr.map(|a| format!("https://{a}/openid/v1/jwks"));
    let uri = cluster.jwks_uri.clone().or(default_uri);
    let issuer = cluster.issuers.first().cloned().unwrap_or_default();
    let discovery = DiscoveryDocument::for_keys(&issuer, uri.as_deref(), &keys);
    let discovery = serde_json::to_string(&discovery).unwrap_or_default();
    let jwks = serde_json::to_string(&cluster.jwks_for(&cluster.verification_keys, false))
        .unwrap_or_default();
    (discovery, jwks)
}

/// RBAC's answer to an anonymous reader without the `system:service-account-issuer-discovery`
/// binding for `system:unauthenticated`, as kube-apiserver gives it; `None` when allowed.
fn refusal(shared: &Shared, headers: &HeaderMap, path: &str) -> Option<Response> {
    let anonymous = !headers.contains_key(header::AUTHORIZATION);
    let allowed = shared
        .cluster
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .anonymous_discovery;
    if anonymous && !allowed {
        let status = serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("forbidden: User \"system:anonymous\" cannot get path \"{path}\""),
            "reason": "Forbidden", "details": {}, "code": 403
        });
        return Some(
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "application/json")],
                status.to_string(),
            )
                .into_response(),
        );
    }
    None
}

fn cached(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn serve_discovery(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&shared, &headers, "/.well-known/openid-configuration") {
        return refused;
    }
    let addr = *shared.addr.read().unwrap_or_else(|e| e.into_inner());
    let (discovery, _) = documents(
        &shared.cluster.read().unwrap_or_else(|e| e.into_inner()),
        addr,
    );
    cached("application/json", discovery)
}

async fn serve_jwks(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&shared, &headers, "/openid/v1/jwks") {
        return refused;
    }
    let addr = *shared.addr.read().unwrap_or_else(|e| e.into_inner());
    let (_, jwks) = documents(
        &shared.cluster.read().unwrap_or_else(|e| e.into_inner()),
        addr,
    );
    cached("application/jwk-set+json", jwks)
}
