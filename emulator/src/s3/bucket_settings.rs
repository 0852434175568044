//! The bucket settings that decide whether an issuer's documents can be made public:
//! Object Ownership (`put-bucket-ownership-controls`), Block Public Access
//! (`put-public-access-block`), and which of them a new bucket starts with.
//!
//! Since April 2023 S3 creates every bucket with `BucketOwnerEnforced` (ACLs disabled)
//! and all four Block Public Access flags on; the upstream guide's
//! `aws s3 cp --acl public-read` predates that. [`BucketDefaults`] selects either world.

use std::str::FromStr;

use super::xml::NS;
use crate::xml_tree::Element;

/// S3 Object Ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectOwnership {
    /// ACLs disabled: any ACL other than `bucket-owner-full-control` is refused with
    /// `AccessControlListNotSupported`, and existing ACLs grant nothing.
    BucketOwnerEnforced,
    BucketOwnerPreferred,
    ObjectWriter,
}

impl ObjectOwnership {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::ObjectWriter => "ObjectWriter",
        }
    }
}

impl FromStr for ObjectOwnership {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "BucketOwnerEnforced" => Ok(ObjectOwnership::BucketOwnerEnforced),
            "BucketOwnerPreferred" => Ok(ObjectOwnership::BucketOwnerPreferred),
            "ObjectWriter" => Ok(ObjectOwnership::ObjectWriter),
            other => Err(format!(
                "object ownership {other:?}: expected BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter"
            )),
        }
    }
}

/// A bucket's Block Public Access configuration (the four flags; absent ones are false,
/// as S3 reads a partial `PublicAccessBlockConfiguration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicAccessBlock {
    /// Refuse requests that set a public ACL (AccessDenied).
    pub block_public_acls: bool,
    /// Public ACLs grant nothing.
    pub ignore_public_acls: bool,
    /// Refuse a public bucket policy (AccessDenied).
    pub block_public_policy: bool,
    /// A public policy grants nothing to anyone outside the account (anonymous
    /// readers included); service principals keep their access.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub const ALL: Self = Self {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// Reads a `PublicAccessBlockConfiguration` body (`None`: not one; S3's MalformedXML).
    pub fn from_xml(body: &[u8]) -> Option<Self> {
        let root = Element::parse(body).ok()?;
        if root.name != "PublicAccessBlockConfiguration" {
            return None;
        }
        let flag = |name: &str| match root.child(name) {
            None => Some(false),
            Some(_) => root.bool_of(name),
        };
        Some(Self {
            block_public_acls: flag("BlockPublicAcls")?,
            ignore_public_acls: flag("IgnorePublicAcls")?,
            block_public_policy: flag("BlockPublicPolicy")?,
            restrict_public_buckets: flag("RestrictPublicBuckets")?,
        })
    }

    pub fn to_xml(self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PublicAccessBlockConfiguration xmlns=\"{NS}\"><BlockPublicAcls>{}</BlockPublicAcls><IgnorePublicAcls>{}</IgnorePublicAcls><BlockPublicPolicy>{}</BlockPublicPolicy><RestrictPublicBuckets>{}</RestrictPublicBuckets></PublicAccessBlockConfiguration>",
            self.block_public_acls,
            self.ignore_public_acls,
            self.block_public_policy,
            self.restrict_public_buckets
        )
    }
}

/// Reads an `OwnershipControls` body (one rule; `None`: not one, S3's MalformedXML).
pub fn ownership_from_xml(body: &[u8]) -> Option<ObjectOwnership> {
    let root = Element::parse(body).ok()?;
    if root.name != "OwnershipControls" {
        return None;
    }
    root.child("Rule")
        .and_then(|rule| rule.text_of("ObjectOwnership"))?
        .parse()
        .ok()
}

pub fn ownership_to_xml(ownership: ObjectOwnership) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OwnershipControls xmlns=\"{NS}\"><Rule><ObjectOwnership>{}</ObjectOwnership></Rule></OwnershipControls>",
        ownership.as_str()
    )
}

/// What a new bucket starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BucketDefaults {
    /// S3 since April 2023: `BucketOwnerEnforced` and all four Block Public Access flags.
    #[default]
    Current,
    /// S3 before: no ownership controls (ACLs work, `ObjectWriter`), no Block Public
    /// Access configuration. What the upstream guide's `--acl public-read` needs.
    Legacy,
}

impl BucketDefaults {
    pub fn ownership(self) -> Option<ObjectOwnership> {
        match self {
            BucketDefaults::Current => Some(ObjectOwnership::BucketOwnerEnforced),
            BucketDefaults::Legacy => None,
        }
    }

    pub fn public_access_block(self) -> Option<PublicAccessBlock> {
        match self {
            BucketDefaults::Current => Some(PublicAccessBlock::ALL),
            BucketDefaults::Legacy => None,
        }
    }
}

impl FromStr for BucketDefaults {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "current" => Ok(BucketDefaults::Current),
            "legacy" => Ok(BucketDefaults::Legacy),
            other => Err(format!(
                "bucket defaults {other:?}: expected current (S3 since 2023: ACLs disabled, Block Public Access on) or legacy"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_access_block_reads_what_the_cli_sends() {
        let body = b"<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy></PublicAccessBlockConfiguration>";
        let read = PublicAccessBlock::from_xml(body).unwrap();
        assert_eq!(
            read,
            PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: false,
                block_public_policy: true,
                restrict_public_buckets: false,
            }
        );
        assert_eq!(
            PublicAccessBlock::from_xml(read.to_xml().as_bytes()),
            Some(read)
        );
        assert!(PublicAccessBlock::from_xml(b"<Other/>").is_none());
        assert!(
            PublicAccessBlock::from_xml(
                b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>"
            )
            .is_none()
        );
    }

    #[test]
    fn ownership_controls_round_trip() {
        let xml = ownership_to_xml(ObjectOwnership::BucketOwnerEnforced);
        assert_eq!(
            ownership_from_xml(xml.as_bytes()),
            Some(ObjectOwnership::BucketOwnerEnforced)
        );
        assert!(ownership_from_xml(b"<OwnershipControls><Rule><ObjectOwnership>Nobody</ObjectOwnership></Rule></OwnershipControls>").is_none());
    }

    #[test]
    fn current_defaults_disable_acls_and_block_public_access() {
        assert_eq!(
            BucketDefaults::default().ownership(),
            Some(ObjectOwnership::BucketOwnerEnforced)
        );
        assert_eq!(
            BucketDefaults::default().public_access_block(),
            Some(PublicAccessBlock::ALL)
        );
        assert_eq!(BucketDefaults::Legacy.ownership(), None);
        assert_eq!("legacy".parse(), Ok(BucketDefaults::Legacy));
    }
}
