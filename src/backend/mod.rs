//! The parts of the chain a backend plays: the apiserver (tokens, discovery), admission
//! through the webhook, and the kubelet (projected token files). The runner drives any
//! [`Backend`] the same way and never knows which one runs; the fake AWS and the workload
//! client are shared by all of them.

pub mod apiserver_flags;
pub mod cluster_state;
pub mod control_plane;
pub mod emulated;
pub mod error;
pub mod keys;
pub mod kind;
pub mod kubelet;
pub mod pki;
pub mod real_clock;

use std::future::Future;

use k8s_openapi::api::core::v1::Pod;

pub use cluster_state::ClusterState;
pub use error::{BackendError, KubeError};

use crate::scenario::Step;
use crate::scenario::kube::{KubeObject, ObjectRef};
use crate::scenario::limits::BackendKind;

/// What the runner gives a backend when it starts.
#[derive(Debug, Clone)]
pub struct BackendContext {
    /// The scenario's virtual clock, shared with the fake AWS.
    pub clock: std::sync::Arc<irsa_emulator::clock::ManualClock>,
    /// The webhook: its flags, exactly as a user passes them, and its registration.
    pub webhook: crate::scenario::model::Webhook,
}

/// A TokenRequest (`kubectl create token`, or the kubelet for a projected volume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub namespace: String,
    pub service_account: String,
    /// Empty: the apiserver's api-audiences.
    pub audiences: Vec<String>,
    /// `None`: 3600 s.
    pub expiration_seconds: Option<i64>,
    /// Bind to this pod (name) of the same namespace.
    pub bound_pod: Option<String>,
}

/// A token file as the kubelet wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFile {
    pub token: String,
    /// When the kubelet obtained it (virtual seconds since the epoch).
    pub issued_at: i64,
}

/// The cluster side of the chain. One value per scenario run.
pub trait Backend: Sized + std::fmt::Debug {
    /// Which backend this is, as scenario files and `--backend` name it.
    const KIND: BackendKind;

    /// `emulated`, `control-plane`, `kind`.
    fn name(&self) -> &'static str {
        Self::KIND.as_str()
    }

    /// Why this backend cannot run a cluster like `cluster` at all (a version its
    /// binaries are not), so the runner refuses rather than play something else.
    fn cannot_start(_cluster: &ClusterState) -> Option<String> {
        None
    }

    /// Why this backend cannot play `step` in the state `cluster` (before the step), so
    /// that an undeclared limit is an error, never a silent skip.
    fn cannot_play(&self, _step: &Step, _cluster: &ClusterState) -> Option<String> {
        None
    }

    /// Starts the cluster with `cluster`'s flags.
    fn start(
        cluster: &ClusterState,
        context: BackendContext,
    ) -> impl Future<Output = Result<Self, BackendError>>;

    /// `kubectl apply` of one object. Pods are admitted through the webhook; the stored
    /// (mutated) pod is returned.
    fn apply(
        &mut self,
        object: &KubeObject,
    ) -> impl Future<Output = Result<Option<Pod>, KubeError>>;

    /// `kubectl delete`.
    fn delete(&mut self, object: &ObjectRef) -> impl Future<Output = Result<(), KubeError>>;

    /// The stored pod.
    fn pod(&self, namespace: &str, name: &str) -> Option<Pod>;

    /// The environment of `container` as its process sees it: literal `env`, `envFrom`
    /// ConfigMaps and `valueFrom.configMapKeyRef`, as the kubelet resolves them.
    fn container_env(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, KubeError>;

    /// The file at `path` inside `container` of the pod, as the kubelet projects it
    /// (service-account token volumes); `fresh` asks the kubelet for new tokens first.
    fn read_file(
        &mut self,
        namespace: &str,
        pod: &str,
        container: &str,
        path: &str,
        fresh: bool,
    ) -> impl Future<Output = Result<TokenFile, KubeError>>;

    /// The TokenRequest API.
    fn token_request(
        &mut self,
        request: &TokenRequest,
    ) -> impl Future<Output = Result<String, KubeError>>;

    /// What the apiserver serves at `/.well-known/openid-configuration` and
    /// `/openid/v1/jwks`, read as a cluster admin.
    fn discovery_documents(&self) -> impl Future<Output = Result<(String, String), KubeError>>;

    /// Where the apiserver's discovery endpoints listen, with the CA of its serving
    /// certificate (for hosting the issuer on the apiserver itself).
    fn discovery_endpoint(&self) -> Option<(String, String)>;

    /// Restarts the apiserver with new flags.
    fn reconfigure(
        &mut self,
        cluster: &ClusterState,
    ) -> impl Future<Output = Result<(), BackendError>>;

    /// A step is about to be played. A backend whose parts read the real clock brings the
    /// scenario's clock up to it here; within a step the clock stands still, as in the
    /// emulated backend, so that what a step computes from it is exact.
    fn step_begins(&mut self) -> impl Future<Output = ()> {
        async {}
    }

    /// Virtual time moved: the kubelet refreshes what is due.
    fn time_passed(&mut self) -> impl Future<Output = ()>;

    /// Stops everything this backend started.
    fn stop(self) -> impl Future<Output = ()>;
}

/// The container named `name` in a pod's JSON, init containers (native sidecars)
/// included: how every backend and the runner find a container.
pub fn find_container<'p>(pod: &'p serde_json::Value, name: &str) -> Option<&'p serde_json::Value> {
    let spec = &pod["spec"];
    let containers = spec["containers"].as_array().into_iter().flatten();
    let init = spec["initContainers"].as_array().into_iter().flatten();
    containers.chain(init).find(|c| c["name"] == name)
}
