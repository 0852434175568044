//! `--in-cluster=true`: a self-managed serving certificate kept in a Secret and published
//! as the MutatingWebhookConfiguration's caBundle.

pub mod certs;
pub mod secret;
