//! The fake AWS for one scenario: the emulator on a loopback port, on the scenario's
//! virtual clock, with issuer mappings for a CDN or the apiserver, and set up through its
//! HTTP API exactly as the guides' `aws s3api` / `aws iam` commands do.

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

use super::cdn::Cdn;
use super::client::{AwsClient, AwsFailure, AwsResult, Credentials};
use crate::scenario::model::{Aws, Hosting, RoleSpec, Scenario, TrustShorthand};

/// CloudFront's DefaultTTL.
const DEFAULT_CDN_TTL: Duration = Duration::from_secs(24 * 3600);

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
    pub cdn: Option<Cdn>,
    /// The CA of the apiserver's discovery endpoint, when the issuer is hosted there.
    issuer_ca: Option<String>,
    server: Served,
    cdn_server: Option<Served>,
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
        // The emulator's routes need the CDN's address and the CDN needs the emulator's
        // S3: bind the CDN's listener first, serve it once the emulator exists.
        let mut cdn_parts = None;
        let origins: BTreeSet<String> = all_issuers(scenario)
            .iter()
            .filter_map(|i| origin(i))
            .collect();
        let mut emulator_config = EmulatorConfig {
            account_id: scenario.aws.account_id.clone(),
            oidc,
            clock: shared.clone(),
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
            Hosting::Cdn(cdn) => {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
                let addr = listener.local_addr()?;
                for prefix in &origins {
                    routes.add_mapping(prefix, &format!("http://{addr}"), None)?;
                }
                cdn_parts = Some((
                    listener,
                    cdn.bucket.clone(),
                    cdn.ttl.map(|t| t.0).unwrap_or(DEFAULT_CDN_TTL),
                ));
            }
        }
        emulator_config.routes = routes;
        let emulator = Emulator::new(emulator_config);
        if let Some(delay) = scenario.aws.propagation_delay {
            emulator.iam().set_propagation_delay(delay.0);
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let server = Served::start(listener, emulator.router()).await?;
        let (cdn, cdn_server) = match cdn_parts {
            None => (None, None),
            Some((listener, bucket, ttl)) => {
                let cdn = Cdn::new(&bucket, ttl, emulator.s3().clone(), shared);
                let served = Served::start(listener, cdn.router()).await?;
                (Some(cdn), Some(served))
            }
        };
        Ok(Self {
            client: AwsClient::new(format!("http://{}", server.addr)),
            emulator,
            clock,
            account_id: scenario.aws.account_id.clone(),
            region: scenario.aws.region.clone(),
            cdn,
            issuer_ca,
            server,
            cdn_server,
        })
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
        if let Some(cdn) = self.cdn_server {
            cdn.stop().await;
        }
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
