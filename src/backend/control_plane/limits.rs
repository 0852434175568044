//! What real binaries cannot play. One kube-apiserver version is built (the pinned one),
//! and a real process reads the real clock: a pre-1.16 cluster, an upgrade, a clock set
//! ahead or behind, and an `advanceClock` longer than [`REAL_WAIT`] (tokens issued
//! afterwards would carry the real time, hours before the virtual one) are not playable.
//! Scenarios declare them; the runner refuses undeclared ones.

use super::binaries::{kube_minor, pinned};
use crate::backend::ClusterState;
use crate::backend::real_clock::REAL_WAIT;
use crate::scenario::Step;

/// Why a cluster like `cluster` cannot be started.
pub fn cannot_start(cluster: &ClusterState) -> Option<String> {
    if cluster.version != kube_minor() {
        return Some(format!(
            "it runs kube-apiserver {} and this scenario's cluster is {}.{}",
            pinned("KUBE_VERSION"),
            cluster.version.0,
            cluster.version.1
        ));
    }
    if cluster.clock_offset != 0 {
        return Some(
            "a real kube-apiserver reads the real clock: it cannot be set ahead or behind".into(),
        );
    }
    None
}

/// Why `step` cannot be played.
pub fn cannot_play(step: &Step) -> Option<String> {
    if let Some(by) = step.advance_clock
        && by.0 > REAL_WAIT
    {
        return Some(format!(
            "a real kube-apiserver's clock cannot be moved: tokens issued after `advanceClock` would carry the real time (up to {} s is waited for real)",
            REAL_WAIT.as_secs()
        ));
    }
    if step.upgrade_cluster.is_some() {
        return Some(format!(
            "one kube-apiserver version is built ({}): there is nothing to upgrade to",
            pinned("KUBE_VERSION")
        ));
    }
    if let Some(change) = &step.set_cluster
        && (change.clock_ahead.is_some() || change.clock_behind.is_some())
    {
        return Some(
            "a real kube-apiserver reads the real clock: it cannot be set ahead or behind".into(),
        );
    }
    None
}
