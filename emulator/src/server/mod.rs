//! One endpoint for everything: a single `http://127.0.0.1:PORT` answers STS, IAM and S3,
//! so it works as `AWS_ENDPOINT_URL` for every service at once.
//!
//! [`Emulator`] owns the services and their shared state; [`Emulator::router`] builds the
//! axum router (tested with `oneshot`, no port needed); [`state`] loads a state file;
//! [`listen::serve`] serves a router on a real listener with header-read, body and
//! connection limits (every listener of the emulator uses it).

mod classify;
mod dispatch;
mod emulator;
pub mod listen;
mod redact;
pub mod state;

pub use classify::{Service, classify};
pub use emulator::{Emulator, EmulatorConfig};
pub use redact::redact_query;
