//! The HTTPS admission server, the plain-HTTP metrics server, and their plumbing.

pub mod cert_reload;
pub mod metrics;
pub mod router;
pub mod serve;
pub mod shutdown;
pub mod tls;
pub mod tls_options;
