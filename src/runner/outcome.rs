//! What one step produced: what was seen (for expectations and the transcript), or the
//! failure as the user's tool would show it (AWS's, S3's, kube's or the SDK's).

use serde_json::{Map, Value};

use crate::aws::AwsFailure;
use crate::backend::KubeError;

/// Who refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Aws,
    Kubernetes,
    /// The workload's SDK refused before calling anything.
    Sdk,
}

/// A refusal: code, message, and the emulator's diagnosis when AWS refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub origin: Origin,
    pub code: String,
    pub message: String,
    pub diagnosis: Option<String>,
}

impl From<AwsFailure> for Failure {
    fn from(f: AwsFailure) -> Self {
        Self {
            origin: Origin::Aws,
            code: f.code,
            message: f.message,
            diagnosis: f.diagnosis,
        }
    }
}

impl From<KubeError> for Failure {
    fn from(e: KubeError) -> Self {
        Self {
            origin: Origin::Kubernetes,
            code: e.code,
            message: e.message,
            diagnosis: None,
        }
    }
}

/// Facts a step observed, by name (kept in insertion order in the transcript).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub facts: Map<String, Value>,
    /// The decoded token (header, claims) when the step used one, unredacted.
    pub token: Option<(Value, Value)>,
    /// The pod the step looked at, as stored.
    pub pod: Option<Value>,
    /// `assumeRole`: the ARN GetCallerIdentity (else STS) returned.
    pub arn: Option<String>,
    /// `assumeRole`: seconds from the call to the credentials' expiry.
    pub credential_seconds: Option<i64>,
}

impl Seen {
    pub fn fact(&mut self, name: &str, value: impl Into<Value>) {
        self.facts.insert(name.to_owned(), value.into());
    }
}

/// A step's result.
pub type StepOutcome = Result<Seen, (Failure, Seen)>;
