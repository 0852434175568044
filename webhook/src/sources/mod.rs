//! Kubernetes-backed identity sources: the ServiceAccount cache and its grace-period
//! lookup, the ConfigMap and the container-credentials file.

pub mod cc_file;
pub mod configmap;
pub mod kube_client;
pub mod kube_sources;
pub mod kube_watch;
pub mod rate_limit;
pub mod sa_lookup;
pub mod sa_store;

use std::sync::Arc;

use crate::server::router::ReadinessCheck;
use sa_store::SaStore;

/// Readiness for `/readyz`: ready once the ServiceAccount cache has completed its first list.
pub fn readiness(store: Arc<SaStore>) -> ReadinessCheck {
    Arc::new(move || {
        if store.is_synced() {
            Ok(())
        } else {
            Err("ServiceAccount cache has not completed its initial list".to_owned())
        }
    })
}
