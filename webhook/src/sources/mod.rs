//! Kubernetes-backed identity sources: the ServiceAccount cache and its grace-period
//! lookup, the ConfigMap and the container-credentials file.

pub mod cc_file;
pub mod configmap;
pub mod rate_limit;
pub mod sa_lookup;
pub mod sa_store;
pub mod kube_watch;
