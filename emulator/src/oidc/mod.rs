//! How STS finds an issuer's signing keys: issuer URL resolution (never to real AWS),
//! fetching discovery and JWKS with AWS's limits, and the JWKS cache.
//!
//! Entry point: [`JwksCache::key_for`]. URLs keep the customer's real strings; an
//! [`IssuerRoutes`] table sends S3 URLs (every endpoint form) to the in-process fake S3
//! through [`AnonymousObjects`], configured prefixes to loopback endpoints, and refuses
//! everything else without making a request.

mod discovery;
mod error;
mod fetch;
mod jwks_cache;
mod routes;
mod s3_url;
mod served_by;
mod settings;

use bytes::Bytes;

pub use error::KeyRetrievalError;
pub use fetch::FetchError;
pub use jwks_cache::{JwksCache, KeyLookup};
pub use routes::{IssuerRoutes, RouteConfigError};
pub use s3_url::{S3Object, s3_object};
pub use served_by::ServedBy;
pub use settings::{IssuerFieldCheck, OidcSettings};

/// Why an anonymous (unsigned) read of an S3 object failed, as STS would experience it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnonymousGetError {
    #[error("the bucket does not exist")]
    NoSuchBucket,
    #[error("the object does not exist")]
    NoSuchKey,
    #[error("the object is not public (access denied)")]
    AccessDenied,
    /// Denied for a reason a bucket setting gives (ACLs disabled, Block Public Access,
    /// a policy's Deny).
    #[error("access denied: {0}")]
    AccessDeniedBecause(String),
}

/// What a CDN edge answered for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeAnswer {
    pub status: u16,
    pub body: Bytes,
    /// CloudFront's `X-Cache` (`Hit from cloudfront`, `Miss from cloudfront`, ...).
    pub x_cache: String,
    /// Why the origin refused, when it did.
    pub detail: Option<String>,
}

/// How STS reaches an issuer on a `*.cloudfront.net` domain: the emulator's own
/// CloudFront (implemented by [`crate::cloudfront::CloudFront`]). `None`: no distribution
/// has that domain.
pub trait Edges: Send + Sync + std::fmt::Debug {
    fn get(&self, host: &str, path: &str) -> Option<EdgeAnswer>;
}

/// Anonymous reads from the fake S3: how STS fetches an issuer hosted in a bucket.
/// Implemented by [`crate::s3::S3Store`].
pub trait AnonymousObjects: Send + Sync + std::fmt::Debug {
    fn get_anonymous(&self, bucket: &str, key: &str) -> Result<Bytes, AnonymousGetError>;
}
