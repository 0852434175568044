//! The fake AWS for one scenario: the emulator on a loopback port, on the scenario's
//! virtual clock, with issuer mappings for the apiserver, and set up through its HTTP API
//! exactly as the guides' `aws s3api` / `aws iam` / `aws cloudfront` commands do. A CDN in
//! front of the bucket is the emulator's CloudFront (nothing is mapped: STS reaches
//! `*.cloudfront.net` through the emulated edge).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use irsa_emulator::clock::{Clock, ManualClock};
use irsa_emulator::oidc::{IssuerFieldCheck, IssuerRoutes, OidcSettings};
use irsa_emulator::server::listen::ListenerLimits;
use irsa_emulator::server::{Emulator, EmulatorConfig};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::client::{AwsClient, AwsFailure, AwsResult, Credentials};
use crate::scenario::model::{
    Aws, BucketDefaultsSpec, CdnHosting, Hosting, ObjectOwnershipSpec, PublicAccessBlockSpec,
    RoleSpec, Scenario, TrustShorthand,
};
use irsa_emulator::cloudfront::DistributionSummary;
use irsa_emulator::s3::BucketDefaults;

/// CloudFront's DefaultTTL.
const DEFAULT_CDN_TTL: Duration = Duration::from_secs(24 * 3600);
/// CloudFront's MaxTTL default.
const DEFAULT_MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// A server task on loopback, stopped on drop of the sender.
#[derive(Debug)]
struct Served {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Served {
    async fn start(
        listener: tokio::net::TcpListener,
        router: axum::Router,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        // The emulator's own listener, with its header-read and body-pause limits.
        let task = tokio::spawn(irsa_emulator::server::listen::serve(
            listener,
            router,
            ListenerLimits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The running fake AWS.
#[derive(Debug)]
pub struct FakeAws {
    pub emulator: Emulator,
    pub client: AwsClient,
    pub clock: Arc<ManualClock>,
    pub account_id: String,
    pub region: String,
    /// The CloudFront distribution in front of the bucket (`hosting: {cdn: ...}`).
    pub distribution: Option<DistributionSummary>,
    /// The CA of the apiserver's discovery endpoint, when the issuer is hosted there.
    issuer_ca: Option<String>,
    server: Served,
}

/// `https://host[:port]` of a URL.
fn origin(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

/// Every issuer a scenario ever configures (setup and `setCluster` steps).
fn all_issuers(scenario: &Scenario) -> BTreeSet<String> {
    let mut issuers: BTreeSet<String> = scenario.cluster.issuers.iter().cloned().collect();
    for step in &scenario.steps {
        if let Some(set) = &step.set_cluster {
            issuers.extend(set.issuers.iter().flatten().cloned());
        }
    }
    issuers
}

impl FakeAws {
    /// Starts the emulator. `apiserver` is the apiserver's discovery endpoint and CA,
    /// used when the scenario hosts its issuer there.
    pub async fn start(
        scenario: &Scenario,
        clock: Arc<ManualClock>,
        apiserver: Option<(String, String)>,
    ) -> anyhow::Result<Self> {
        let sts = &scenario.aws.sts;
        let defaults = OidcSettings::default();
        let oidc = OidcSettings {
            jwks_ttl: sts.jwks_cache_ttl.map(|d| d.0).unwrap_or(defaults.jwks_ttl),
            refetch_interval: sts
                .refetch_interval
                .map(|d| d.0)
                .unwrap_or(defaults.refetch_interval),
            issuer_field_check: if sts.strict_issuer_field {
                IssuerFieldCheck::Strict
            } else {
                IssuerFieldCheck::Lenient
            },
            ..defaults
        };
        let mut routes = IssuerRoutes::new();
        let mut issuer_ca = None;
        let shared: Arc<dyn Clock> = clock.clone();
        let origins: BTreeSet<String> = all_issuers(scenario)
            .iter()
            .filter_map(|i| origin(i))
            .collect();
        let mut emulator_config = EmulatorConfig {
            account_id: scenario.aws.account_id.clone(),
            oidc,
            clock: shared.clone(),
            s3_bucket_defaults: match scenario.aws.bucket_defaults {
                BucketDefaultsSpec::Current => BucketDefaults::Current,
                BucketDefaultsSpec::Legacy => BucketDefaults::Legacy,
            },
            ..EmulatorConfig::default()
        };
        match &scenario.hosting {
            Hosting::S3 => {}
            Hosting::Apiserver => {
                let (target, ca) =
                    apiserver.context("this backend cannot host the issuer on its apiserver")?;
                for prefix in &origins {
                    routes.add_mapping(prefix, &target, Some(&ca))?;
                }
                issuer_ca = Some(ca);
            }
            // The emulator's CloudFront serves *.cloudfront.net itself.
            Hosting::Cdn(_) => {}
        }
        emulator_config.routes = routes;
        let emulator = Emulator::new(emulator_config);
        if let Some(delay) = scenario.aws.propagation_delay {
            emulator.iam().set_propagation_delay(delay.0);
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let server = Served::start(listener, emulator.router()).await?;
        let mut aws = Self {
            client: AwsClient::new(format!("http://{}", server.addr)),
            emulator,
            clock,
            account_id: scenario.aws.account_id.clone(),
            region: scenario.aws.region.clone(),
            distribution: None,
            issuer_ca,
            server,
        };
        if let Hosting::Cdn(cdn) = &scenario.hosting {
            let domain = scenario
                .cluster
                .issuers
                .first()
                .and_then(|i| reqwest::Url::parse(i).ok())
                .and_then(|u| u.host_str().map(str::to_owned))
                .context("hosting `cdn` needs an issuer on the distribution's domain")?;
            let region = scenario
                .aws
                .buckets
                .iter()
                .find(|b| b.name == cdn.bucket)
                .and_then(|b| b.region.clone())
                .unwrap_or_else(|| scenario.aws.region.clone());
            aws.distribution = Some(aws.create_distribution(cdn, &region, &domain).await?);
        }
        Ok(aws)
    }

    /// `aws cloudfront create-origin-access-control` (when asked) and
    /// `create-distribution` as the OpenUnison guide runs them, then the scenario's
    /// distribution id and domain (a customer's are kept; CloudFront draws both).
    async fn create_distribution(
        &self,
        cdn: &CdnHosting,
        region: &str,
        domain: &str,
    ) -> anyhow::Result<DistributionSummary> {
        let admin = self.admin();
        let mut oac_id = String::new();
        if cdn.origin_access_control {
            let body = format!(
                "<OriginAccessControlConfig xmlns=\"{NS}\"><Name>oac-{bucket}</Name><Description>OAC for S3 origin</Description><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlConfig>",
                NS = irsa_emulator::cloudfront::NAMESPACE,
                bucket = cdn.bucket
            );
            let answer = self
                .client
                .cloudfront(
                    &admin,
                    self.now(),
                    http::Method::POST,
                    "/2020-05-31/origin-access-control",
                    body,
                )
                .await?
                .map_err(|f| {
                    anyhow::anyhow!("create-origin-access-control: {}: {}", f.code, f.message)
                })?;
            oac_id = super::xml_field(&answer, "Id").context("no OAC id in the answer")?;
        }
        let default_ttl = cdn.ttl.map(|t| t.0).unwrap_or(DEFAULT_CDN_TTL);
        let min_ttl = cdn.min_ttl.map(|t| t.0).unwrap_or_default();
        let max_ttl = DEFAULT_MAX_TTL.max(default_ttl);
        let body = format!(
            "<DistributionConfig xmlns=\"{NS}\"><CallerReference>irsa-lab-{bucket}</CallerReference><Origins><Quantity>1</Quantity><Items><Origin><Id>S3-{bucket}</Id><DomainName>{bucket}.s3.{region}.amazonaws.com</DomainName><S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig><OriginAccessControlId>{oac_id}</OriginAccessControlId></Origin></Items></Origins><DefaultCacheBehavior><TargetOriginId>S3-{bucket}</TargetOriginId><TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners><ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy><ForwardedValues><QueryString>false</QueryString><Cookies><Forward>none</Forward></Cookies></ForwardedValues><MinTTL>{min}</MinTTL><DefaultTTL>{default}</DefaultTTL><MaxTTL>{max}</MaxTTL></DefaultCacheBehavior><Comment>irsa-lab scenario</Comment><Enabled>true</Enabled></DistributionConfig>",
            NS = irsa_emulator::cloudfront::NAMESPACE,
            bucket = cdn.bucket,
            min = min_ttl.as_secs(),
            default = default_ttl.as_secs(),
            max = max_ttl.as_secs(),
        );
        let answer = self
            .client
            .cloudfront(
                &admin,
                self.now(),
                http::Method::POST,
                "/2020-05-31/distribution",
                body,
            )
            .await?
            .map_err(|f| anyhow::anyhow!("create-distribution: {}: {}", f.code, f.message))?;
        let drawn = super::xml_field(&answer, "Id").context("no distribution id in the answer")?;
        // Reproducible runs: without the customer's id, one derived from the domain.
        let id = cdn.distribution_id.clone().unwrap_or_else(|| {
            use sha1::Digest;
            let digest = hex::encode_upper(sha1::Sha1::digest(domain.as_bytes()));
            format!("E{}", &digest[..13])
        });
        let cloudfront = self.emulator.cloudfront();
        cloudfront.assign_identity(&drawn, &id, domain)?;
        cloudfront
            .distributions()
            .into_iter()
            .find(|d| d.id == id)
            .context("the distribution vanished")
    }
}

impl FakeAws {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Credentials for administrative calls (what `irsa-lab serve` suggests).
    pub fn admin(&self) -> Credentials {
        Credentials::admin()
    }

    /// The setup's buckets, providers and roles, created through the API.
    pub async fn setup(&self, aws: &Aws) -> anyhow::Result<Result<(), AwsFailure>> {
        let admin = self.admin();
        for bucket in &aws.buckets {
            let region = bucket.region.as_deref().unwrap_or(&aws.region);
            let body = if region == "us-east-1" {
                Vec::new()
            } else {
                format!(
                    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
                )
                .into_bytes()
            };
            let made = self
                .client
                .s3_put(&admin, self.now(), &format!("/{}", bucket.name), body, None)
                .await?;
            if let Err(failure) = made {
                return Ok(Err(failure));
            }
            if let Some(ownership) = bucket.object_ownership
                && let Err(failure) = self.put_ownership(&bucket.name, ownership).await?
            {
                return Ok(Err(failure));
            }
            if let Some(block) = bucket.public_access_block
                && let Err(failure) = self.put_public_access_block(&bucket.name, block).await?
            {
                return Ok(Err(failure));
            }
            if let Some(policy) = &bucket.policy
                && let Err(failure) = self.put_bucket_policy(&bucket.name, policy).await?
            {
                return Ok(Err(failure));
            }
        }
        for provider in &aws.oidc_providers {
            if let Err(failure) = self.create_provider(provider).await? {
                return Ok(Err(failure));
            }
        }
        for role in &aws.roles {
            if let Err(failure) = self.create_role(aws, role).await? {
                return Ok(Err(failure));
            }
        }
        Ok(Ok(()))
    }

    /// `aws s3api put-bucket-ownership-controls`.
    pub async fn put_ownership(
        &self,
        bucket: &str,
        ownership: ObjectOwnershipSpec,
    ) -> anyhow::Result<AwsResult> {
        let name = match ownership {
            ObjectOwnershipSpec::BucketOwnerEnforced => "BucketOwnerEnforced",
            ObjectOwnershipSpec::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnershipSpec::ObjectWriter => "ObjectWriter",
        };
        let body = format!(
            "<OwnershipControls xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule><ObjectOwnership>{name}</ObjectOwnership></Rule></OwnershipControls>"
        );
        self.client
            .s3_call(
                &self.admin(),
                self.now(),
                http::Method::PUT,
                &format!("/{bucket}?ownershipControls"),
                body.into_bytes(),
            )
            .await
    }

    /// `aws s3api put-public-access-block`.
    pub async fn put_public_access_block(
        &self,
        bucket: &str,
        block: PublicAccessBlockSpec,
    ) -> anyhow::Result<AwsResult> {
        let body = format!(
            "<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><BlockPublicAcls>{}</BlockPublicAcls><IgnorePublicAcls>{}</IgnorePublicAcls><BlockPublicPolicy>{}</BlockPublicPolicy><RestrictPublicBuckets>{}</RestrictPublicBuckets></PublicAccessBlockConfiguration>",
            block.block_public_acls,
            block.ignore_public_acls,
            block.block_public_policy,
            block.restrict_public_buckets
        );
        self.client
            .s3_call(
                &self.admin(),
                self.now(),
                http::Method::PUT,
                &format!("/{bucket}?publicAccessBlock"),
                body.into_bytes(),
            )
            .await
    }

    /// `aws s3api put-bucket-policy`.
    pub async fn put_bucket_policy(
        &self,
        bucket: &str,
        policy: &serde_json::Value,
    ) -> anyhow::Result<AwsResult> {
        let text = match policy {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        self.client
            .s3_call(
                &self.admin(),
                self.now(),
                http::Method::PUT,
                &format!("/{bucket}?policy"),
                text.into_bytes(),
            )
            .await
    }

    pub async fn create_provider(
        &self,
        provider: &crate::scenario::model::OidcProviderSpec,
    ) -> anyhow::Result<AwsResult> {
        let mut params = vec![
            (
                "Action".to_owned(),
                "CreateOpenIDConnectProvider".to_owned(),
            ),
            ("Url".to_owned(), provider.url.clone()),
        ];
        for (i, id) in provider.client_ids.iter().enumerate() {
            params.push((format!("ClientIDList.member.{}", i + 1), id.clone()));
        }
        let mut thumbprints = provider.thumbprints.clone();
        if provider.thumbprint_from_issuer
            && let Some(ca) = &self.issuer_ca
        {
            thumbprints.extend(ca_thumbprint(ca));
        }
        for (i, thumbprint) in thumbprints.iter().enumerate() {
            params.push((
                format!("ThumbprintList.member.{}", i + 1),
                thumbprint.clone(),
            ));
        }
        self.iam(&params).await
    }

    pub async fn create_role(&self, aws: &Aws, role: &RoleSpec) -> anyhow::Result<AwsResult> {
        let policy = trust_policy_json(aws, role.trust_policy.as_ref(), role.trust.as_ref());
        let mut params = vec![
            ("Action".to_owned(), "CreateRole".to_owned()),
            ("RoleName".to_owned(), role.name.clone()),
            ("AssumeRolePolicyDocument".to_owned(), policy),
        ];
        if let Some(max) = role.max_session_duration {
            params.push(("MaxSessionDuration".to_owned(), max.secs().to_string()));
        }
        self.iam(&params).await
    }

    /// A signed IAM Query call.
    pub async fn iam(&self, params: &[(String, String)]) -> anyhow::Result<AwsResult> {
        let borrowed: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.client.iam(&self.admin(), self.now(), &borrowed).await
    }

    /// The provider ARN IAM gives `url`.
    pub fn provider_arn(&self, url: &str) -> String {
        self.emulator.iam().provider_arn(url)
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// SHA-1 of the first certificate's DER, 40 lower-case hex digits (what IAM stores).
fn ca_thumbprint(pem: &str) -> Option<String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use sha1::Digest;
    let der = CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()?
        .ok()?;
    Some(hex::encode(sha1::Sha1::digest(der.as_ref())))
}

/// The trust policy text for IAM: as written, or built from the shorthand.
pub fn trust_policy_json(
    aws: &Aws,
    policy: Option<&serde_json::Value>,
    shorthand: Option<&TrustShorthand>,
) -> String {
    if let Some(policy) = policy {
        return match policy {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
    }
    let short = shorthand.cloned().unwrap_or(TrustShorthand {
        provider: None,
        sub: None,
        aud: None,
    });
    let url = short
        .provider
        .clone()
        .or_else(|| aws.oidc_providers.first().map(|p| p.url.clone()))
        .unwrap_or_default();
    let key = url.trim_start_matches("https://");
    let mut equals = serde_json::Map::new();
    if let Some(sub) = &short.sub {
        equals.insert(format!("{key}:sub"), json!(sub));
    }
    let aud = short
        .aud
        .clone()
        .unwrap_or_else(|| "sts.amazonaws.com".into());
    if !aud.is_empty() {
        equals.insert(format!("{key}:aud"), json!(aud));
    }
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{}:oidc-provider/{key}", aws.account_id)},
        "Action": "sts:AssumeRoleWithWebIdentity",
    });
    if !equals.is_empty() {
        statement["Condition"] = json!({"StringEquals": equals});
    }
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}
