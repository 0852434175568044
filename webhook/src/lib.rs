//! Drop-in Rust replacement for amazon-eks-pod-identity-webhook.
//!
//! - [`flags`]: the reference's flags; [`config`]: what the mutation takes from them.
//! - [`identity`]: ServiceAccount, ConfigMap and container-credentials sources and the
//!   precedence rules; [`identity_kube`]: the live, cluster-backed sources.
//! - [`mutation`]: the pod patch (targeted adds, idempotent).
//! - [`admission`]: AdmissionReview in and out, shared by `/mutate` and [`offline`].
//! - [`server`], [`sources`], [`incluster`]: HTTPS, metrics, caches and watchers,
//!   in-cluster certificates; [`app`]: server mode wiring; [`logging`]: the log filter.

pub mod admission;
pub mod app;
pub mod config;
pub mod flags;
pub mod identity;
pub mod identity_kube;
pub mod incluster;
pub mod logging;
pub mod mutation;
pub mod offline;
pub mod server;
pub mod sources;
