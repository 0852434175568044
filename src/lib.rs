//! irsa-lab: reproduce, offline and on one machine, how a Kubernetes pod gets AWS credentials
//! without static keys (IRSA on self-hosted clusters).
//!
//! - [`cli`]: the `irsa-lab` command line (`run`, `serve`, `keys`).
//! - [`walkthrough`]: the built-in end-to-end run of the self-hosted setup guide, in-process.

pub mod cli;
pub mod walkthrough;
