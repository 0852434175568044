//! Drop-in Rust replacement for amazon-eks-pod-identity-webhook. (In progress.)

pub mod incluster;
pub mod server;
pub mod sources;
