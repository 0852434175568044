//! irsa-lab: reproduce, offline and on one machine, how a Kubernetes pod gets AWS credentials
//! without static keys (IRSA on self-hosted clusters).
//!
//! Arrows point one way: [`cli`] → [`runner`] → [`backend`] (cluster side) and [`aws`]
//! (the fake AWS every backend shares) → the `irsa-emulator` and `pod-identity-webhook`
//! crates.
//!
//! - [`scenario`]: scenario files: the format, loading with located errors, the schema,
//!   the built-in library.
//! - [`runner`]: the step loop, expectations, transcripts and JUnit.
//! - [`backend`]: the cluster side: trait [`backend::Backend`] and the emulated backend.
//! - [`aws`]: the fake AWS on loopback, set up like the guides do, and its HTTP client.
//! - [`workload`]: what a pod's AWS SDK does with the injected env.
//! - [`cli`]: the `irsa-lab` command line.

pub mod aws;
pub mod backend;
pub mod cli;
pub mod diagnose;
pub mod runner;
pub mod scenario;
pub mod workload;
