//! Backend failures: a refusal by Kubernetes is a step outcome ([`KubeError`]); a backend
//! that cannot run at all is a [`BackendError`].

/// A refusal by the cluster, shown like kubectl shows it: a reason code and kube's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct KubeError {
    /// `Invalid`, `NotFound`, `Conflict`, `Forbidden`, `FileNotFound`, ...
    pub code: String,
    pub message: String,
}

impl KubeError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// kube's NotFound: `pods "app" not found`.
    pub fn not_found(resource: &str, name: &str) -> Self {
        Self::new("NotFound", format!("{resource} {name:?} not found"))
    }
}

/// The backend could not start or restart a component.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("the webhook's flags are invalid: {0}")]
    WebhookFlags(String),
    // The cause is the error's source: `{:#}` (anyhow's chain) prints it once.
    #[error("failed to start {component}")]
    Start {
        component: &'static str,
        #[source]
        source: anyhow::Error,
    },
}
