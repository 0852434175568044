//! The steps of a scenario. A step is a map with exactly one action key (`publish`,
//! `apply`, `assumeRole`, ...) plus optional `name` and `expect`. (One struct with optional
//! actions rather than an enum, so that `expect` sits beside the action and every typo
//! gets serde's "unknown field, expected one of" message.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::HumanDuration;
use super::expect::Expect;
use super::kube::{KubeObject, ObjectRef};

/// One step: one action, an optional title and an optional expectation.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// A title for the progress line and the transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Publish the cluster's discovery document and JWKS where `hosting` says
    /// (the guides' `aws s3 cp --acl public-read`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Publish>,
    /// Create or update Kubernetes objects (`kubectl apply`). Pods go through the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<Vec<KubeObject>>,
    /// Delete Kubernetes objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Vec<ObjectRef>>,
    /// As a pod's AWS SDK: read the injected env and token file, call
    /// AssumeRoleWithWebIdentity, then GetCallerIdentity with the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role: Option<AssumeRole>,
    /// GetCallerIdentity with the credentials the pod's last `assumeRole` obtained, as an
    /// application that keeps using them (they expire; the SDK should have refreshed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_identity: Option<CallerIdentity>,
    /// Call the TokenRequest API directly (`kubectl create token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_request: Option<TokenRequestStep>,
    /// Change the apiserver's flags and restart it (rotation, new issuer, key removal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_cluster: Option<SetCluster>,
    /// Upgrade Kubernetes (the kid mode follows the version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_cluster: Option<UpgradeCluster>,
    /// Change IAM (trust policy, client ids, providers, thumbprints, roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsEdit>,
    /// Change S3 objects directly (put, delete, make private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Edit>,
    /// Invalidate the CDN's cache (`aws cloudfront create-invalidation --paths ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn_invalidate: Option<CdnInvalidate>,
    /// Let virtual time pass: caches expire, the kubelet refreshes tokens, credentials age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_clock: Option<HumanDuration>,
    /// What must be seen; without it, the step must succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

/// The action keys, in the order they are documented.
pub const ACTIONS: [&str; 12] = [
    "publish",
    "apply",
    "delete",
    "assumeRole",
    "callerIdentity",
    "tokenRequest",
    "setCluster",
    "upgradeCluster",
    "aws",
    "s3",
    "cdnInvalidate",
    "advanceClock",
];

impl Step {
    /// The action keys this step sets (valid steps have exactly one).
    pub fn actions(&self) -> Vec<&'static str> {
        let set = [
            self.publish.is_some(),
            self.apply.is_some(),
            self.delete.is_some(),
            self.assume_role.is_some(),
            self.caller_identity.is_some(),
            self.token_request.is_some(),
            self.set_cluster.is_some(),
            self.upgrade_cluster.is_some(),
            self.aws.is_some(),
            self.s3.is_some(),
            self.cdn_invalidate.is_some(),
            self.advance_clock.is_some(),
        ];
        ACTIONS
            .iter()
            .zip(set)
            .filter_map(|(name, on)| on.then_some(*name))
            .collect()
    }
}

/// What `publish` writes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Publish {
    /// `generated` (default): the documents the guides write by hand (jwks_uri
    /// `<issuer>/keys.json` unless `cluster.jwksUri` says otherwise); `apiserver`: a copy of
    /// what the apiserver serves at `/.well-known/openid-configuration` and
    /// `/openid/v1/jwks` (its jwks_uri included).
    #[serde(default)]
    pub source: PublishSource,
    /// Keys listed in the JWKS. Default: the cluster's verification keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    /// Also list each key with `"kid": ""` (the pre-1.16 bridge).
    #[serde(default)]
    pub with_empty_kid: bool,
    /// List the keys without any `kid` member (what the old Go helper produced).
    #[serde(default)]
    pub without_kid: bool,
    /// The discovery document's `issuer` field. Default: the cluster's first issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The discovery document's `jwks_uri`. Default: see `source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Canned ACL of both objects (`public-read` default, `private`, ...), or `none` to
    /// send no ACL at all (`aws s3 cp` / `aws s3 sync` without `--acl`: what a bucket with
    /// ACLs disabled accepts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    /// Publish only this document (`discovery` or `jwks`). Default both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<PublishOnly>,
    /// Replace the discovery document with this raw text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_discovery: Option<String>,
    /// Replace the JWKS with this raw text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_jwks: Option<String>,
}

/// Which documents `publish` builds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PublishSource {
    #[default]
    Generated,
    Apiserver,
}

/// One of the two issuer documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PublishOnly {
    Discovery,
    Jwks,
}

/// The SDK's web-identity flow, run as one container of a pod.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssumeRole {
    /// The pod (applied earlier).
    pub pod: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Default: the pod's first container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// `RoleSessionName`. Default: `AWS_ROLE_SESSION_NAME`, else botocore's
    /// `botocore-session-<unix seconds>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// `DurationSeconds`. Default: none sent (STS uses 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<HumanDuration>,
    /// Ask the kubelet for a fresh token first (as a restarted pod would have).
    #[serde(default)]
    pub fresh_token: bool,
    /// Reuse the token this pod's previous `assumeRole` read, instead of reading the file
    /// again (an SDK that reads the token file once and never again).
    #[serde(default)]
    pub reuse_token: bool,
    /// Use this role ARN instead of the pod's `AWS_ROLE_ARN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Skip GetCallerIdentity after a successful AssumeRoleWithWebIdentity.
    #[serde(default)]
    pub skip_caller_identity: bool,
}

/// Which pod's credentials `callerIdentity` uses.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallerIdentity {
    pub pod: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `TokenRequest` for a ServiceAccount, optionally bound to a pod.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenRequestStep {
    pub service_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Default: the apiserver's api-audiences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// `expirationSeconds`, as a duration. Default 1h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<HumanDuration>,
    /// Bind the token to this pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_pod: Option<String>,
}

/// New apiserver flags; unset keys keep their value. The apiserver restarts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetCluster {
    /// New keys generated and added to the cluster's key set (not yet verifying).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_keys: Vec<super::model::KeySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_audiences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_token_expiration: Option<HumanDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_token_expiration: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_discovery: Option<bool>,
    /// The cluster's clock is now this much ahead of the true time (`0s`: NTP fixed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_ahead: Option<HumanDuration>,
    /// The cluster's clock is now this much behind the true time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_behind: Option<HumanDuration>,
}

/// A Kubernetes upgrade.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpgradeCluster {
    /// The new `major.minor` version.
    pub version: String,
}

/// One IAM change (exactly one key).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsEdit {
    /// `aws iam update-assume-role-policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_trust_policy: Option<TrustPolicyEdit>,
    /// `aws iam add-client-id-to-open-id-connect-provider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_client_id: Option<ClientIdEdit>,
    /// `aws iam remove-client-id-from-open-id-connect-provider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_client_id: Option<ClientIdEdit>,
    /// `aws iam create-open-id-connect-provider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_provider: Option<super::model::OidcProviderSpec>,
    /// `aws iam delete-open-id-connect-provider` (by URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_provider: Option<String>,
    /// `aws iam update-open-id-connect-provider-thumbprint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_thumbprints: Option<ThumbprintEdit>,
    /// `aws iam create-role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_role: Option<super::model::RoleSpec>,
    /// `aws iam delete-role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_role: Option<String>,
    /// `aws iam update-role --max-session-duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_role: Option<UpdateRoleEdit>,
}

/// A role's new maximum session duration.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRoleEdit {
    pub role: String,
    pub max_session_duration: HumanDuration,
}

impl AwsEdit {
    pub fn count(&self) -> usize {
        [
            self.update_trust_policy.is_some(),
            self.add_client_id.is_some(),
            self.remove_client_id.is_some(),
            self.create_provider.is_some(),
            self.delete_provider.is_some(),
            self.update_thumbprints.is_some(),
            self.create_role.is_some(),
            self.delete_role.is_some(),
            self.update_role.is_some(),
        ]
        .into_iter()
        .filter(|on| *on)
        .count()
    }
}

/// A role's new trust policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustPolicyEdit {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<super::model::TrustShorthand>,
}

/// A client id added to or removed from a provider.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientIdEdit {
    /// The provider's URL.
    pub provider: String,
    pub client_id: String,
}

/// A provider's new thumbprint list.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThumbprintEdit {
    pub provider: String,
    pub thumbprints: Vec<String>,
}

/// One S3 change (exactly one key).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Edit {
    /// `aws s3 cp` of inline content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_object: Option<PutObject>,
    /// `aws s3 rm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_object: Option<ObjectLocation>,
    /// `aws s3api put-object-acl --acl private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make_private: Option<ObjectLocation>,
    /// `aws s3api put-bucket-policy` (the policy as YAML or JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_bucket_policy: Option<BucketPolicyEdit>,
    /// `aws s3api delete-bucket-policy --bucket NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_bucket_policy: Option<String>,
    /// `aws s3api put-public-access-block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_public_access_block: Option<PublicAccessBlockEdit>,
    /// `aws s3api delete-public-access-block --bucket NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_public_access_block: Option<String>,
    /// `aws s3api put-bucket-ownership-controls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_ownership_controls: Option<OwnershipControlsEdit>,
}

/// A bucket's new policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketPolicyEdit {
    pub bucket: String,
    /// The policy document (`Statement` with `Principal`, `Action`, `Resource`, `Condition`).
    pub policy: serde_json::Value,
}

/// A bucket's new Block Public Access flags, as
/// `--public-access-block-configuration BlockPublicAcls=true,...` gives them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicAccessBlockEdit {
    pub bucket: String,
    /// Unset flags are false.
    pub configuration: super::model::PublicAccessBlockSpec,
}

/// A bucket's new Object Ownership.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnershipControlsEdit {
    pub bucket: String,
    pub object_ownership: super::model::ObjectOwnershipSpec,
}

impl S3Edit {
    pub fn count(&self) -> usize {
        [
            self.put_object.is_some(),
            self.delete_object.is_some(),
            self.make_private.is_some(),
            self.put_bucket_policy.is_some(),
            self.delete_bucket_policy.is_some(),
            self.put_public_access_block.is_some(),
            self.delete_public_access_block.is_some(),
            self.put_ownership_controls.is_some(),
        ]
        .into_iter()
        .filter(|on| *on)
        .count()
    }
}

/// An object with inline content.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutObject {
    pub bucket: String,
    pub key: String,
    pub content: String,
    /// Default `private`, as `aws s3 cp` without `--acl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
}

/// A bucket and key.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectLocation {
    pub bucket: String,
    pub key: String,
}

/// Paths to invalidate on the CDN.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CdnInvalidate {
    /// Paths as `aws cloudfront create-invalidation --paths` takes them (`/keys.json`, `/*`).
    pub paths: Vec<String>,
}
