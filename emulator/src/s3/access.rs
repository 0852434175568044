//! Whether a reader without the bucket owner's credentials may read: the bucket policy
//! (explicit Deny first, then Allow), then the object's ACL, as Block Public Access and
//! Object Ownership let them count. S3 answers every refusal with the same
//! `AccessDenied`; [`Denial`] keeps the reason for logs and diagnosis.

use super::bucket_settings::ObjectOwnership;
use super::policy::{PolicyRequest, PolicyVerdict, Requester};
use super::store::{Acl, Bucket};

/// Why a read was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// Nothing grants it: no policy statement, no public ACL.
    #[error("nothing grants it (no bucket policy statement, no public-read ACL)")]
    NotGranted,
    #[error("the bucket policy denies it (statement {0})")]
    PolicyDeny(String),
    #[error(
        "the object's public-read ACL grants nothing: the bucket's Object Ownership is BucketOwnerEnforced (ACLs disabled)"
    )]
    AclsDisabled,
    #[error("the object's public-read ACL is ignored: Block Public Access IgnorePublicAcls is on")]
    PublicAclIgnored,
    #[error(
        "the bucket policy grants public access but Block Public Access RestrictPublicBuckets is on"
    )]
    PublicPolicyRestricted,
}

/// Decides `action` on `resource` for `requester`; `object_acl` is the object's ACL for
/// object reads (`None` for bucket-level actions such as ListBucket).
pub fn decide(
    bucket: &Bucket,
    requester: &Requester,
    action: &str,
    resource: &str,
    object_acl: Option<Acl>,
) -> Result<(), Denial> {
    let block = bucket.public_access_block.unwrap_or_default();
    let mut restricted = false;
    if let Some(policy) = &bucket.policy {
        let request = PolicyRequest {
            requester,
            action,
            resource,
        };
        match policy.evaluate(&request) {
            PolicyVerdict::Denied(sid) => {
                return Err(Denial::PolicyDeny(
                    sid.unwrap_or_else(|| "without Sid".into()),
                ));
            }
            PolicyVerdict::Allowed { .. } => {
                // RestrictPublicBuckets: a bucket with a public policy serves only service
                // principals and the owner's account, so an anonymous reader loses every
                // grant of the policy.
                if block.restrict_public_buckets
                    && policy.is_public()
                    && *requester == Requester::Anonymous
                {
                    restricted = true;
                } else {
                    return Ok(());
                }
            }
            PolicyVerdict::Silent => {}
        }
    }
    if object_acl == Some(Acl::PublicRead) {
        if bucket.ownership == Some(ObjectOwnership::BucketOwnerEnforced) {
            return Err(Denial::AclsDisabled);
        }
        if block.ignore_public_acls {
            return Err(Denial::PublicAclIgnored);
        }
        return Ok(());
    }
    if restricted {
        return Err(Denial::PublicPolicyRestricted);
    }
    Err(Denial::NotGranted)
}
