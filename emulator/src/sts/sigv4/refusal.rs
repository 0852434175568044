//! Why a request signed with issued credentials is refused. The Query services (STS, IAM)
//! and S3 answer the same problem with different codes and texts: [`Refusal::query_code`]
//! and `Display` give the Query services' (AWS's texts); `s3::S3Error` maps the rest.

use std::fmt;

use http::StatusCode;
use time::{Duration, OffsetDateTime};

use super::MAX_SKEW_SECONDS;
use super::scope::amz_date;
use crate::s3::ChunkedError;

/// AWS's text for a signature that does not verify (STS, IAM).
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// One thing wrong with a credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeProblem {
    /// Not a region, or not the one the hostname names.
    Region {
        got: String,
        expected: Option<String>,
    },
    Service {
        got: String,
        expected: &'static str,
    },
    Terminator(String),
    /// The scope's date is not `X-Amz-Date`'s.
    Date {
        scope: String,
        amz_date: String,
    },
}

impl fmt::Display for ScopeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // AWS ends each sentence with ". " and concatenates them.
        match self {
            ScopeProblem::Region { .. } => {
                write!(f, "Credential should be scoped to a valid region. ")
            }
            ScopeProblem::Service { expected, .. } => {
                write!(
                    f,
                    "Credential should be scoped to correct service: '{expected}'. "
                )
            }
            ScopeProblem::Terminator(got) => write!(
                f,
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{got}'. "
            ),
            ScopeProblem::Date { scope, amz_date } => write!(
                f,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope}' != '{}', from '{amz_date}'. ",
                amz_date.get(..8).unwrap_or(amz_date)
            ),
        }
    }
}

/// Why a signed request is refused, in AWS's order of checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{}", if *.presigned {
        "AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."
    } else {
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    })]
    MissingDate { presigned: bool },
    #[error(
        "Date must be in ISO-8601 'basic format'. Got '{0}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )]
    MalformedDate(String),
    /// Signed more than 15 minutes ago.
    #[error(
        "Signature expired: {} is now earlier than {} ({} - 15 min.)",
        amz_date(*request),
        amz_date(*now - Duration::seconds(MAX_SKEW_SECONDS)),
        amz_date(*now)
    )]
    Expired {
        request: OffsetDateTime,
        now: OffsetDateTime,
    },
    /// Signed more than 15 minutes in the future.
    #[error(
        "Signature not yet current: {} is still later than {} ({} + 15 min.)",
        amz_date(*request),
        amz_date(*now + Duration::seconds(MAX_SKEW_SECONDS)),
        amz_date(*now)
    )]
    NotYetCurrent {
        request: OffsetDateTime,
        now: OffsetDateTime,
    },
    #[error(
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
    )]
    PresignedExpiresMissing,
    #[error("{0}")]
    PresignedExpiresInvalid(&'static str),
    #[error("Request is not valid yet")]
    PresignedNotYetValid,
    #[error("Request has expired")]
    PresignedExpired {
        expires: i64,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    },
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    #[error("{}", .0.iter().map(ToString::to_string).collect::<String>())]
    Scope(Vec<ScopeProblem>),
    /// S3 requires the payload hash on header-signed requests.
    #[error("Missing required header for this request: x-amz-content-sha256")]
    ContentSha256Missing,
    /// S3: the payload hash header was sent but not signed.
    #[error("There were headers present in the request which were not signed")]
    ContentSha256NotSigned,
    #[error(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
    )]
    ContentSha256Invalid(String),
    /// The body received is not the one whose hash was signed.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch { declared: String, computed: String },
    #[error("{SIGNATURE_MISMATCH}")]
    SignatureMismatch,
    /// A streaming upload's framing is broken.
    #[error(transparent)]
    Chunked(ChunkedError),
    /// Chunk `index` (0-based; the final empty chunk and the trailer count) is not signed
    /// by the chain that starts at the seed signature.
    #[error("{SIGNATURE_MISMATCH}")]
    ChunkSignatureMismatch { index: usize },
    #[error(
        "x-amz-decoded-content-length says {declared} bytes, the aws-chunked body holds {actual}"
    )]
    DecodedLengthMismatch { declared: String, actual: usize },
}

impl Refusal {
    /// The code and status STS and IAM answer with.
    pub fn query_code(&self) -> (&'static str, StatusCode) {
        match self {
            Refusal::MissingDate { .. } | Refusal::MalformedDate(_) => {
                ("IncompleteSignature", StatusCode::BAD_REQUEST)
            }
            Refusal::PresignedExpiresMissing | Refusal::PresignedExpiresInvalid(_) => {
                ("AuthorizationQueryParametersError", StatusCode::BAD_REQUEST)
            }
            Refusal::PresignedNotYetValid | Refusal::PresignedExpired { .. } => {
                ("AccessDenied", StatusCode::FORBIDDEN)
            }
            Refusal::Chunked(_) | Refusal::DecodedLengthMismatch { .. } => {
                ("InvalidRequest", StatusCode::BAD_REQUEST)
            }
            _ => ("SignatureDoesNotMatch", StatusCode::FORBIDDEN),
        }
    }

    /// The message STS and IAM answer with: AWS's text, except that a payload hash that
    /// does not match is, for them, simply a signature that does not match.
    pub fn query_message(&self) -> String {
        match self {
            Refusal::ContentSha256Mismatch { .. }
            | Refusal::ContentSha256Missing
            | Refusal::ContentSha256NotSigned
            | Refusal::ContentSha256Invalid(_) => SIGNATURE_MISMATCH.to_owned(),
            other => other.to_string(),
        }
    }

    /// Our diagnosis for logs and the diagnosis header, beyond AWS's text.
    pub fn detail(&self) -> String {
        match self {
            Refusal::ContentSha256Mismatch { declared, computed } => format!(
                "the body's SHA-256 is {computed}, the signed x-amz-content-sha256 says {declared}"
            ),
            Refusal::ChunkSignatureMismatch { index } => {
                format!(
                    "chunk {index} of the aws-chunked body is not signed by the seed signature's chain"
                )
            }
            Refusal::SignatureMismatch => {
                "the signature does not match the request as received".to_owned()
            }
            other => other.to_string(),
        }
    }
}
