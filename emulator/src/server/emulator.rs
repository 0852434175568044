use std::sync::Arc;

use axum::Router;

use crate::clock::{self, SharedClock};
use crate::cloudfront::CloudFront;
use crate::iam::Iam;
use crate::oidc::{IssuerRoutes, JwksCache, OidcSettings};
use crate::s3::{BucketDefaults, S3Store};
use crate::sts::Sts;

/// How to build an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The AWS account every IAM ARN belongs to.
    pub account_id: String,
    /// Fetch limits, JWKS cache TTL and refetch throttle, issuer-field check.
    pub oidc: OidcSettings,
    /// Where issuer URLs that are not S3 hostnames are served from (local endpoints).
    pub routes: IssuerRoutes,
    /// Real time by default; a [`crate::clock::ManualClock`] under the scenario runner.
    pub clock: SharedClock,
    /// Regions where STS answers RegionDisabledException (reproducing an account whose
    /// administrator deactivated STS there).
    pub disabled_sts_regions: Vec<String>,
    /// What a new S3 bucket starts with: today's S3 (ACLs disabled, Block Public Access
    /// on) by default, or the pre-2023 behaviour the upstream guide was written for.
    pub s3_bucket_defaults: BucketDefaults,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            account_id: crate::iam::DEFAULT_ACCOUNT_ID.to_owned(),
            oidc: OidcSettings::default(),
            routes: IssuerRoutes::default(),
            clock: clock::system(),
            disabled_sts_regions: Vec::new(),
            s3_bucket_defaults: BucketDefaults::default(),
        }
    }
}

/// The fake AWS: STS, IAM, S3 and CloudFront sharing one clock, one account and one fake S3 that
/// STS reads issuers from. Cheap to clone (everything is behind `Arc`).
#[derive(Debug, Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: SharedClock,
    iam: Iam,
    s3: S3Store,
    cloudfront: CloudFront,
    jwks: Arc<JwksCache>,
    sts: Sts,
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Self {
        let iam = Iam::new(&config.account_id, config.clock.clone());
        let s3 = S3Store::with_defaults(config.clock.clone(), config.s3_bucket_defaults);
        let cloudfront = CloudFront::new(&config.account_id, s3.clone(), config.clock.clone());
        let jwks = Arc::new(JwksCache::with_edges(
            config.oidc,
            config.routes,
            Arc::new(s3.clone()),
            Some(Arc::new(cloudfront.clone())),
            config.clock.clone(),
        ));
        let sts = Sts::new(iam.clone(), jwks.clone(), config.clock.clone())
            .with_disabled_regions(config.disabled_sts_regions);
        Self {
            inner: Arc::new(Inner {
                clock: config.clock,
                iam,
                s3,
                cloudfront,
                jwks,
                sts,
            }),
        }
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    pub fn iam(&self) -> &Iam {
        &self.inner.iam
    }

    pub fn s3(&self) -> &S3Store {
        &self.inner.s3
    }

    /// CloudFront: distributions, origin access controls, the edge STS reads through.
    pub fn cloudfront(&self) -> &CloudFront {
        &self.inner.cloudfront
    }

    pub fn sts(&self) -> &Sts {
        &self.inner.sts
    }

    /// The JWKS cache STS verifies tokens with (clear it to force a refetch).
    pub fn jwks_cache(&self) -> &JwksCache {
        &self.inner.jwks
    }

    /// The router answering STS, IAM and S3 on one endpoint.
    pub fn router(&self) -> Router {
        super::dispatch::router(self.clone())
    }
}
