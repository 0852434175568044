//! What a backend cannot play in a scenario, or plays with a different transcript, declared
//! in the scenario file with the reason. Heavier backends run real binaries: a real
//! kube-apiserver cannot be pre-1.16, nor have its clock moved by `advanceClock`. Such a
//! step is never skipped silently: the run stops there on that backend, says why, and the
//! equality test compares only what was played.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The backends, as `irsa-lab run --backend` names them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// Everything in this process.
    Emulated,
    /// Real etcd and kube-apiserver processes.
    ControlPlane,
    /// A real kind cluster.
    Kind,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emulated => "emulated",
            Self::ControlPlane => "control-plane",
            Self::Kind => "kind",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared limit of a backend for this scenario.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackendLimit {
    pub backend: BackendKind,
    /// The first step (1-based) this backend cannot play: the run stops before it, and the
    /// transcript says so. `1`: the backend plays nothing of this scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_playable_from: Option<usize>,
    /// Steps (1-based) this backend plays whose transcript entry differs from the emulated
    /// one for the reason given (the equality test does not compare them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differs_at: Vec<usize>,
    /// Why, for the reader of the snapshot and of the equality report.
    pub reason: String,
}

/// The limits declared for `backend`.
pub fn for_backend(limits: &[BackendLimit], backend: BackendKind) -> Vec<&BackendLimit> {
    limits.iter().filter(|l| l.backend == backend).collect()
}

/// The first declared step `backend` cannot play, with the reason.
pub fn stop_at(limits: &[BackendLimit], backend: BackendKind) -> Option<(usize, &str)> {
    for_backend(limits, backend)
        .into_iter()
        .filter_map(|l| l.not_playable_from.map(|n| (n, l.reason.as_str())))
        .min_by_key(|(n, _)| *n)
}

/// Steps whose transcript is declared to differ on `backend`.
pub fn differing(limits: &[BackendLimit], backend: BackendKind) -> Vec<usize> {
    let mut steps: Vec<usize> = for_backend(limits, backend)
        .into_iter()
        .flat_map(|l| l.differs_at.iter().copied())
        .collect();
    steps.sort_unstable();
    steps.dedup();
    steps
}
