//! The setup half of a scenario file: the cluster, the AWS account, where the issuer's
//! documents are hosted, the webhook's flags and the clock. Steps are in [`super::steps`].
//!
//! Every type rejects unknown keys, so a typo is an error with its line, never a silently
//! ignored setting. Keys are camelCase like Kubernetes'.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::HumanDuration;
use super::steps::Step;

/// One scenario: a setup and the ordered steps played against it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Short identifier; defaults to the file name without `.yaml`.
    #[serde(default)]
    pub name: Option<String>,
    /// The user story: what the user did, what they saw, why, and the fix.
    pub description: String,
    /// The Kubernetes cluster: version, issuers, keys and the apiserver's token flags.
    #[serde(default)]
    pub cluster: Cluster,
    /// The AWS account: OIDC providers, roles, buckets and STS's key-retrieval settings.
    #[serde(default)]
    pub aws: Aws,
    /// Where the issuer's discovery document and JWKS are served from.
    #[serde(default)]
    pub hosting: Hosting,
    /// The pod identity webhook.
    #[serde(default)]
    pub webhook: Webhook,
    /// Virtual time.
    #[serde(default)]
    pub clock: ClockSetup,
    /// What happens, in order. Each step may carry an `expect`.
    pub steps: Vec<Step>,
    /// What a heavier backend cannot play here (a pre-1.16 apiserver, a moved clock) or
    /// shows differently, and why. Checked: a backend that meets a step it cannot play
    /// refuses to run an undeclared one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<super::limits::BackendLimit>,
}

/// kube-apiserver's service-account token settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    /// Kubernetes version, `major.minor`. Before 1.16 tokens carry no `kid`; `jti` from
    /// 1.30; the `node` claim from 1.32.
    #[serde(default = "default_version")]
    pub version: String,
    /// `--service-account-issuer` values: the first signs, all are accepted.
    #[serde(default = "default_issuers")]
    pub issuers: Vec<String>,
    /// The keys the cluster knows, by name. Names are how the transcript shows kids
    /// (`[kid:key-a]`).
    #[serde(default = "default_keys")]
    pub keys: Vec<KeySpec>,
    /// `--service-account-signing-key-file`: the key that signs. Default: the first key.
    #[serde(default)]
    pub signing_key: Option<String>,
    /// `--service-account-key-file`: the keys that verify and that the apiserver's JWKS
    /// lists. Default: every key.
    #[serde(default)]
    pub verification_keys: Option<Vec<String>>,
    /// `--api-audiences`. Default: the issuers.
    #[serde(default)]
    pub api_audiences: Option<Vec<String>>,
    /// `--service-account-jwks-uri` (https). Default: the apiserver's own
    /// `https://<apiserver>/openid/v1/jwks`.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// `--service-account-max-token-expiration`: longer requests are shortened.
    #[serde(default)]
    pub max_token_expiration: Option<HumanDuration>,
    /// `--service-account-extend-token-expiration` (default true).
    #[serde(default = "yes")]
    pub extend_token_expiration: bool,
    /// Whether `system:service-account-issuer-discovery` is bound to
    /// `system:unauthenticated`, so the discovery endpoints answer anonymous readers.
    #[serde(default)]
    pub anonymous_discovery: bool,
    /// The cluster's clock minus the true time (tokens issued in the future or past).
    /// Written like `-10m` is not possible in YAML durations: use `clockAhead`/`clockBehind`.
    #[serde(default)]
    pub clock_ahead: Option<HumanDuration>,
    /// The cluster's clock is this much behind the true time.
    #[serde(default)]
    pub clock_behind: Option<HumanDuration>,
}

impl Default for Cluster {
    fn default() -> Self {
        Self {
            version: default_version(),
            issuers: default_issuers(),
            keys: default_keys(),
            signing_key: None,
            verification_keys: None,
            api_audiences: None,
            jwks_uri: None,
            max_token_expiration: None,
            extend_token_expiration: true,
            anonymous_discovery: false,
            clock_ahead: None,
            clock_behind: None,
        }
    }
}

/// The issuer every example uses: the upstream guide's bucket, path-style.
pub const DEFAULT_ISSUER: &str = "https://s3.us-east-1.amazonaws.com/oidc-test";

fn default_version() -> String {
    "1.34".into()
}
fn default_issuers() -> Vec<String> {
    vec![DEFAULT_ISSUER.into()]
}
fn default_keys() -> Vec<KeySpec> {
    vec![KeySpec {
        name: "key-a".into(),
        algorithm: KeyAlgorithmSpec::Rsa2048,
        kid: None,
    }]
}
fn yes() -> bool {
    true
}

/// A named key pair.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySpec {
    pub name: String,
    /// Default RSA-2048 (what `ssh-keygen -t rsa -b 2048` in the guides makes).
    #[serde(default)]
    pub algorithm: KeyAlgorithmSpec,
    /// The `kid` tokens signed by this key carry and the JWKS lists, instead of the one
    /// kube-apiserver derives from the key (SHA-256 of its SPKI). For replaying a
    /// customer's setup (`irsa-lab scenario from-bundle`): their kid is kept while the key
    /// is a fresh one, since their private key is never needed. The emulated backend only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// Key types kube-apiserver can sign with.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Deserialize,
    Serialize,
    JsonSchema,
)]
pub enum KeyAlgorithmSpec {
    #[default]
    #[serde(rename = "RSA-2048")]
    Rsa2048,
    #[serde(rename = "RSA-4096")]
    Rsa4096,
    #[serde(rename = "EC-P256")]
    EcP256,
    #[serde(rename = "EC-P384")]
    EcP384,
    #[serde(rename = "EC-P521")]
    EcP521,
}

/// The AWS account irsa-lab emulates.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Aws {
    /// Default `111122223333`.
    #[serde(default = "default_account")]
    pub account_id: String,
    /// The region the workload's SDK uses when the pod has none. Default `us-east-1`.
    #[serde(default = "default_region")]
    pub region: String,
    /// IAM OIDC identity providers (`aws iam create-open-id-connect-provider`).
    #[serde(default)]
    pub oidc_providers: Vec<OidcProviderSpec>,
    /// IAM roles (`aws iam create-role`).
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
    /// S3 buckets (`aws s3api create-bucket`).
    #[serde(default)]
    pub buckets: Vec<BucketSpec>,
    /// What a new bucket starts with: `current` (default; S3 since April 2023: Object
    /// Ownership `BucketOwnerEnforced`, so ACLs are disabled, and all four Block Public
    /// Access flags on) or `legacy` (before: ACLs work, no Block Public Access), which the
    /// upstream guide's `aws s3 cp --acl public-read` was written for.
    #[serde(default)]
    pub bucket_defaults: BucketDefaultsSpec,
    /// How STS retrieves and caches issuers' keys.
    #[serde(default)]
    pub sts: StsSettings,
    /// How long IAM changes take to reach STS: a role created or a trust policy edited
    /// less than this ago is not (yet) what STS sees. Default 0.
    #[serde(default)]
    pub propagation_delay: Option<HumanDuration>,
}

impl Default for Aws {
    fn default() -> Self {
        Self {
            account_id: default_account(),
            region: default_region(),
            oidc_providers: Vec::new(),
            roles: Vec::new(),
            buckets: Vec::new(),
            bucket_defaults: BucketDefaultsSpec::default(),
            sts: StsSettings::default(),
            propagation_delay: None,
        }
    }
}

fn default_account() -> String {
    "111122223333".into()
}
fn default_region() -> String {
    "us-east-1".into()
}

/// An IAM OIDC provider.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OidcProviderSpec {
    /// The issuer URL (https, compared byte for byte with the token's `iss`).
    pub url: String,
    /// The audiences accepted (`--client-id-list`). Default `[sts.amazonaws.com]`.
    #[serde(default = "default_client_ids")]
    pub client_ids: Vec<String>,
    /// SHA-1 thumbprints of the issuer's certificate chain (40 hex digits each).
    #[serde(default)]
    pub thumbprints: Vec<String>,
    /// Add the thumbprint of the issuer host's CA, as the guides compute it with
    /// `openssl s_client -showcerts ... | openssl x509 -fingerprint -sha1` (for an issuer
    /// hosted on the apiserver, whose CA is made fresh for each run).
    #[serde(default)]
    pub thumbprint_from_issuer: bool,
}

fn default_client_ids() -> Vec<String> {
    vec!["sts.amazonaws.com".into()]
}

/// An IAM role and its trust policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    /// The trust policy as IAM takes it (`--assume-role-policy-document`), written as YAML
    /// or JSON. Exactly one of `trustPolicy` and `trust`.
    #[serde(default)]
    pub trust_policy: Option<serde_json::Value>,
    /// The usual IRSA trust policy in one line: Federated = the provider's ARN, with
    /// `StringEquals` on `<provider>:sub` and `<provider>:aud`.
    #[serde(default)]
    pub trust: Option<TrustShorthand>,
    /// Longest session (`--max-session-duration`), 1h to 12h. Default 1h.
    #[serde(default)]
    pub max_session_duration: Option<HumanDuration>,
}

/// `trust: {sub: system:serviceaccount:default:app}`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustShorthand {
    /// Provider URL. Default: the only provider in `aws.oidcProviders`.
    #[serde(default)]
    pub provider: Option<String>,
    /// Required `sub` (StringEquals). Omit to allow any subject.
    #[serde(default)]
    pub sub: Option<String>,
    /// Required `aud` (StringEquals). Default `sts.amazonaws.com`; `""` to leave it out.
    #[serde(default)]
    pub aud: Option<String>,
}

/// What S3 gives a new bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BucketDefaultsSpec {
    /// S3 since April 2023: `BucketOwnerEnforced` (ACLs disabled), Block Public Access on.
    #[default]
    Current,
    /// S3 before: ACLs work (no ownership controls), no Block Public Access.
    Legacy,
}

/// An S3 bucket.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketSpec {
    pub name: String,
    /// Default: `aws.region`.
    #[serde(default)]
    pub region: Option<String>,
    /// `aws s3api put-bucket-ownership-controls` after creating it. Default: what
    /// `aws.bucketDefaults` gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_ownership: Option<ObjectOwnershipSpec>,
    /// `aws s3api put-public-access-block` after creating it. Default: what
    /// `aws.bucketDefaults` gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_access_block: Option<PublicAccessBlockSpec>,
    /// `aws s3api put-bucket-policy` after the settings above (YAML or JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<serde_json::Value>,
}

/// S3 Object Ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ObjectOwnershipSpec {
    /// ACLs disabled: any ACL but `bucket-owner-full-control` is refused.
    BucketOwnerEnforced,
    /// ACLs work; the bucket owner owns objects uploaded with `bucket-owner-full-control`.
    BucketOwnerPreferred,
    /// ACLs work; the uploader owns the object (S3's behaviour before 2023).
    ObjectWriter,
}

/// Block Public Access; unset flags are false, as S3 reads a partial configuration.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicAccessBlockSpec {
    /// Refuse public ACLs (AccessDenied).
    #[serde(default)]
    pub block_public_acls: bool,
    /// Public ACLs grant nothing.
    #[serde(default)]
    pub ignore_public_acls: bool,
    /// Refuse public bucket policies (AccessDenied).
    #[serde(default)]
    pub block_public_policy: bool,
    /// A public policy grants anonymous readers nothing.
    #[serde(default)]
    pub restrict_public_buckets: bool,
}

/// STS's retrieval of issuer documents (AWS documents only the 5 s limit; the rest are
/// irsa-lab's documented defaults).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StsSettings {
    /// How long fetched keys are used without refetching. Default 1h.
    #[serde(default)]
    pub jwks_cache_ttl: Option<HumanDuration>,
    /// Minimum time between refetches caused by an unknown `kid`. Default 5m.
    #[serde(default)]
    pub refetch_interval: Option<HumanDuration>,
    /// Whether the discovery document's own `issuer` must equal the token's `iss`.
    /// Default false (AWS's behaviour is undocumented; a mismatch is a warning).
    #[serde(default)]
    pub strict_issuer_field: bool,
}

/// Where STS finds the issuer's documents: `s3` (default), `apiserver`, or
/// `{cdn: {bucket: ..., ttl: ...}}`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Hosting {
    /// An S3 bucket named in the issuer URL (path-style `s3.<region>.amazonaws.com/<bucket>`,
    /// virtual-host-style `<bucket>.s3.<region>.amazonaws.com`, with or without a path
    /// prefix). `publish` writes the documents there.
    #[default]
    S3,
    /// A CloudFront distribution in front of the bucket, played by the emulator's
    /// CloudFront: the issuer URL's host (`dXXXXXXXXXXXXX.cloudfront.net`) is the
    /// distribution's domain; it caches each object for its TTL until a `cdnInvalidate`
    /// step, and reads the bucket anonymously or, with `originAccessControl`, as the
    /// distribution's OAC (then only a bucket policy allowing `cloudfront.amazonaws.com`
    /// with the distribution's `AWS:SourceArn` lets it read).
    Cdn(CdnHosting),
    /// The apiserver itself is the issuer host (its discovery endpoints), reached over
    /// HTTPS with its serving CA; needs `cluster.anonymousDiscovery` for STS to read.
    Apiserver,
}

/// The same shape, read the way users write it (`{cdn: {...}}`): YAML's own enum
/// syntax would be a `!cdn` tag, which nobody writes and editors' schema checks refuse.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
enum HostingAsWritten {
    S3,
    Cdn(CdnHosting),
    Apiserver,
}

impl<'de> Deserialize<'de> for Hosting {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let written: HostingAsWritten = serde_path_to_error::deserialize(value).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid hosting: at `{}`: {} (write `s3`, `apiserver` or `{{cdn: {{bucket: ..., ttl: ..., originAccessControl: ...}}}}`)",
                e.path(),
                e.inner()
            ))
        })?;
        Ok(match written {
            HostingAsWritten::S3 => Hosting::S3,
            HostingAsWritten::Cdn(cdn) => Hosting::Cdn(cdn),
            HostingAsWritten::Apiserver => Hosting::Apiserver,
        })
    }
}

/// A CloudFront distribution in front of a bucket (`aws cloudfront create-distribution`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CdnHosting {
    /// The bucket behind the distribution (its S3 origin).
    pub bucket: String,
    /// `DefaultTTL`: how long an object without `Cache-Control` is cached. Default 24h
    /// (CloudFront's default).
    #[serde(default)]
    pub ttl: Option<HumanDuration>,
    /// `MinTTL`. Default 0 (the OpenUnison guide's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ttl: Option<HumanDuration>,
    /// Read the bucket through an Origin Access Control
    /// (`aws cloudfront create-origin-access-control`, signing `always`). Default false: a
    /// public origin, read anonymously.
    #[serde(default)]
    pub origin_access_control: bool,
    /// The distribution's id (what its ARN and a bucket policy's `AWS:SourceArn` name),
    /// kept as the customer's. Default: `E` + 13 characters derived from the domain (CloudFront
    /// draws one at random; a scenario must replay the same way every time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_id: Option<String>,
}

/// The pod identity webhook and how the apiserver calls it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Webhook {
    /// Its command-line flags, exactly as on the binary (`--aws-default-region=us-west-2`).
    #[serde(default)]
    pub flags: Vec<String>,
    /// The MutatingWebhookConfiguration's `failurePolicy`: `Ignore` (the deploy manifest's:
    /// a webhook that cannot be called lets pods through unmutated) or `Fail`.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// Whether the MutatingWebhookConfiguration exists at all (it goes missing after some
    /// upgrades and `make cluster-up`). Default true.
    #[serde(default = "yes")]
    pub registered: bool,
    /// Whether its `caBundle` is the CA that signed the webhook's certificate. False
    /// reproduces `x509: certificate signed by unknown authority`. Default true.
    #[serde(default = "yes")]
    pub ca_bundle_matches: bool,
    /// Whether the webhook's pods are running. False: `connection refused`. Default true.
    #[serde(default = "yes")]
    pub running: bool,
}

impl Default for Webhook {
    fn default() -> Self {
        Self {
            flags: Vec::new(),
            failure_policy: FailurePolicy::Ignore,
            registered: true,
            ca_bundle_matches: true,
            running: true,
        }
    }
}

/// `failurePolicy` of the webhook registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
pub enum FailurePolicy {
    #[default]
    Ignore,
    Fail,
}

/// Virtual time: everything (tokens, caches, credentials) reads this clock.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockSetup {
    /// RFC 3339 start time. Default `2026-01-01T00:00:00Z`.
    #[serde(default = "default_start")]
    pub start: String,
}

impl Default for ClockSetup {
    fn default() -> Self {
        Self {
            start: default_start(),
        }
    }
}

fn default_start() -> String {
    "2026-01-01T00:00:00Z".into()
}

/// Free-form string map (env vars, claims).
pub type StringMap = BTreeMap<String, String>;
