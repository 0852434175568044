//! How STS finds an issuer's signing keys: issuer URL resolution (never to real AWS),
//! fetching discovery and JWKS with AWS's limits, and the JWKS cache.

mod discovery;
mod errors;
mod fetch;
mod jwks_cache;
mod resolve;
mod settings;

use bytes::Bytes;

pub use errors::{FetchError, KeyRetrievalError};
pub use fetch::{Fetched, Fetcher, ServedBy};
pub use jwks_cache::{JwksCache, KeyLookup};
pub use resolve::{IssuerRoutes, Route, RouteError};
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
}

/// Anonymous reads from the fake S3: how STS fetches an issuer hosted in a bucket.
/// Implemented by [`crate::s3::S3Store`].
pub trait AnonymousObjects: Send + Sync + std::fmt::Debug {
    fn get_anonymous(&self, bucket: &str, key: &str) -> Result<Bytes, AnonymousGetError>;
}
