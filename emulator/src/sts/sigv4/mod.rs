//! AWS Signature Version 4: reading a request's signature, verifying it against a secret
//! (for credentials STS issued) the way AWS does, and signing (for irsa-lab's own clients
//! and tests).
//!
//! Verification follows AWS's order and texts: the date and its 15-minute window (or a
//! presigned URL's `X-Amz-Expires`), `host` among the signed headers, the credential scope
//! (date, region, service, terminator), the payload (the hash of the body actually
//! received; `x-amz-content-sha256` only counts when signed), the signature, and for
//! streaming uploads every chunk's signature.
//!
//! - [`parse`]: the `Authorization` header or presigned query into a [`SigV4Auth`].
//! - [`canonical`]: canonical request, string to sign, signing key.
//! - [`scope`]: date window and credential scope.
//! - [`presigned`]: `X-Amz-Expires`, the session token a request carries.
//! - [`payload`]: which payload hash is signed, and whether the body matches it.
//! - [`streaming`]: `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` chunk signatures.
//! - [`refusal`]: why a request that carries issued credentials is refused.

mod canonical;
mod parse;
mod payload;
mod presigned;
mod refusal;
mod scope;
mod sign;
pub mod streaming;

use http::{HeaderMap, Method, Uri};
use time::OffsetDateTime;

pub use parse::{SigV4Auth, SigV4Error, parse_authorization};
pub use presigned::session_token;
pub use refusal::{Refusal, ScopeProblem};
pub use sign::{presign, sign};

/// The service a request is served as (decided by the router, not by the signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedService {
    Sts,
    Iam,
    S3,
    CloudFront,
}

impl SignedService {
    /// The service name in a credential scope.
    pub fn name(self) -> &'static str {
        match self {
            SignedService::Sts => "sts",
            SignedService::Iam => "iam",
            SignedService::S3 => "s3",
            SignedService::CloudFront => "cloudfront",
        }
    }
}

/// The parts of a request a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// How long a signature stays valid around its `X-Amz-Date` (both directions).
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// Verifies `auth` over `request` with `secret`, as `service` would at `now`.
///
/// # Errors
/// The first check that fails, in AWS's order, as a [`Refusal`] that knows AWS's codes and
/// texts for S3 and for the Query services.
pub fn verify(
    request: &SignedRequest<'_>,
    auth: &SigV4Auth,
    secret: &str,
    service: SignedService,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let signed_at = scope::request_time(auth)?;
    scope::check_window(auth, signed_at, service, now)?;
    scope::check_host_signed(auth)?;
    scope::check_scope(auth, request.headers, service)?;
    let payload = payload::Payload::of(request, auth, service)?;
    let key = canonical::signing_key(secret, &auth.date, &auth.region, &auth.service);
    let matches = payload.canonical_hashes().iter().any(|hash| {
        let to_sign = canonical::string_to_sign(request, auth, hash);
        canonical::signature_matches(&key, &to_sign, &auth.signature)
    });
    if !matches {
        return Err(Refusal::SignatureMismatch);
    }
    payload.check_body(request, auth, &key)
}

#[cfg(test)]
mod tests;
