//! A fake CloudFront, as much as an issuer behind a CDN needs (the OpenUnison guide):
//! origin access controls, distributions with an S3 origin, invalidations, through the
//! REST-XML API (2020-05-31) the `aws cloudfront` commands call, and the edge that serves
//! `https://dXXXXXXXXXXXXX.cloudfront.net/...` to STS without leaving the machine.
//!
//! The edge ([`CloudFront::edge_get`]) caches each path on the emulator's clock for the
//! cache behaviour's TTL (the origin's `Cache-Control: max-age`/`s-maxage` clamped to
//! MinTTL..MaxTTL, else DefaultTTL; origin errors for 10 s, CloudFront's default error
//! caching), until an invalidation removes it. It reads the bucket as the origin access
//! control's identity (the `cloudfront.amazonaws.com` service principal with
//! `AWS:SourceArn` = the distribution's ARN), so only a bucket policy granting that makes it
//! work; without an OAC it reads anonymously, like a public origin.
//!
//! Documented simplifications: deployments and invalidations complete at once (a created
//! distribution reports `InProgress` in the answer to the call that made it, `Deployed`
//! to every GetDistribution; an invalidation `InProgress`, then `Completed`); only the default cache behaviour routes requests; query strings are
//! not part of the cache key (CachingOptimized and `QueryString: false` leave them out).

mod api;
mod config;
mod edge;
mod errors;
mod store;

pub use api::router;
pub use config::{DistributionSettings, OacSettings, Origin, Ttls};
pub use edge::{EdgeResponse, ttl_for};
pub use errors::CloudFrontError;
pub use store::{CloudFront, DistributionSummary};

/// CloudFront's XML namespace.
pub const NAMESPACE: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

/// The service principal an origin access control signs as.
pub const SERVICE_PRINCIPAL: &str = "cloudfront.amazonaws.com";

/// Whether `host` is a CloudFront distribution domain (`*.cloudfront.net`).
pub fn is_distribution_host(host: &str) -> bool {
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host.to_ascii_lowercase().ends_with(".cloudfront.net")
}
