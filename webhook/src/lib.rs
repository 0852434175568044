//! Drop-in Rust replacement for amazon-eks-pod-identity-webhook. (In progress.)
