//! The HTTPS admission server, the plain-HTTP metrics server, and their plumbing.

pub mod cert_reload;
pub mod metrics;
pub mod tls_options;
