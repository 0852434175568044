use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use md5::{Digest, Md5};
use time::OffsetDateTime;

use super::access::{self, Denial};
use super::bucket_settings::{BucketDefaults, ObjectOwnership, PublicAccessBlock};
use super::errors::S3Error;
use super::policy::{BucketPolicy, Requester};
use crate::clock::SharedClock;
use crate::oidc::{AnonymousGetError, AnonymousObjects};

/// The canned ACLs that matter for issuer hosting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acl {
    #[default]
    Private,
    PublicRead,
}

impl Acl {
    /// Parses an `x-amz-acl` value. Other canned ACLs grant no anonymous read, so they
    /// behave as private here; `None` for values S3 would reject.
    pub fn from_canned(value: &str) -> Option<Self> {
        match value {
            "public-read" | "public-read-write" => Some(Acl::PublicRead),
            "private"
            | "authenticated-read"
            | "aws-exec-read"
            | "bucket-owner-read"
            | "bucket-owner-full-control"
            | "log-delivery-write" => Some(Acl::Private),
            _ => None,
        }
    }

    /// Whether a canned ACL grants anyone outside the account (what Block Public Access
    /// calls public).
    pub fn canned_is_public(value: &str) -> bool {
        matches!(
            value,
            "public-read" | "public-read-write" | "authenticated-read"
        )
    }
}

/// One stored object.
#[derive(Debug, Clone)]
pub struct Object {
    pub body: Bytes,
    pub content_type: String,
    /// Quoted hex MD5, as S3 returns it for single-part uploads.
    pub etag: String,
    pub last_modified: OffsetDateTime,
    pub acl: Acl,
    /// `Cache-Control` given at upload (`aws s3 cp --cache-control`), returned on reads:
    /// what a CDN in front of the bucket honours.
    pub cache_control: Option<String>,
}

/// What an upload says about the object besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
}

/// One bucket and its objects, sorted by key (ListObjectsV2 order).
#[derive(Debug, Clone)]
pub struct Bucket {
    pub region: String,
    pub created: OffsetDateTime,
    pub objects: BTreeMap<String, Object>,
    /// `None`: no ownership controls (S3 before 2023: ACLs work, as `ObjectWriter`).
    pub ownership: Option<ObjectOwnership>,
    /// `None`: no Block Public Access configuration.
    pub public_access_block: Option<PublicAccessBlock>,
    pub policy: Option<BucketPolicy>,
}

/// All buckets. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct S3Store {
    buckets: Arc<RwLock<BTreeMap<String, Bucket>>>,
    clock: SharedClock,
    defaults: BucketDefaults,
}

/// S3's bucket naming rules (the ones a user can trip on).
fn validate_bucket_name(name: &str) -> Result<(), S3Error> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    let looks_like_ip =
        name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    if (3..=63).contains(&name.len())
        && ok_chars
        && ends_ok
        && !name.contains("..")
        && !looks_like_ip
    {
        Ok(())
    } else {
        Err(S3Error::InvalidBucketName(name.to_owned()))
    }
}

impl S3Store {
    /// A store whose new buckets get today's S3 defaults ([`BucketDefaults::Current`]).
    pub fn new(clock: SharedClock) -> Self {
        Self::with_defaults(clock, BucketDefaults::Current)
    }

    /// A store whose new buckets start with `defaults`.
    pub fn with_defaults(clock: SharedClock, defaults: BucketDefaults) -> Self {
        Self {
            buckets: Arc::default(),
            clock,
            defaults,
        }
    }

    /// What a new bucket starts with.
    pub fn defaults(&self) -> BucketDefaults {
        self.defaults
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Bucket>> {
        self.buckets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Bucket>> {
        self.buckets
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates a bucket (`region` defaults to us-east-1). Creating one that exists is
    /// `BucketAlreadyOwnedByYou`, as S3 answers outside us-east-1.
    pub fn create_bucket(&self, name: &str, region: Option<&str>) -> Result<(), S3Error> {
        validate_bucket_name(name)?;
        let mut buckets = self.write();
        if buckets.contains_key(name) {
            return Err(S3Error::BucketAlreadyOwnedByYou(name.to_owned()));
        }
        let bucket = Bucket {
            region: region.unwrap_or("us-east-1").to_owned(),
            created: self.clock.now(),
            objects: BTreeMap::new(),
            ownership: self.defaults.ownership(),
            public_access_block: self.defaults.public_access_block(),
            policy: None,
        };
        buckets.insert(name.to_owned(), bucket);
        Ok(())
    }

    pub fn delete_bucket(&self, name: &str) -> Result<(), S3Error> {
        let mut buckets = self.write();
        match buckets.get(name) {
            None => Err(S3Error::NoSuchBucket(name.to_owned())),
            Some(b) if !b.objects.is_empty() => Err(S3Error::BucketNotEmpty(name.to_owned())),
            Some(_) => {
                buckets.remove(name);
                Ok(())
            }
        }
    }

    /// Bucket names with their creation dates, sorted.
    pub fn list_buckets(&self) -> Vec<(String, OffsetDateTime)> {
        self.read()
            .iter()
            .map(|(name, b)| (name.clone(), b.created))
            .collect()
    }

    pub fn bucket_region(&self, name: &str) -> Result<String, S3Error> {
        self.read()
            .get(name)
            .map(|b| b.region.clone())
            .ok_or_else(|| S3Error::NoSuchBucket(name.to_owned()))
    }

    /// Stores an object, replacing any previous one, and returns its ETag. A raw write
    /// (seeding, tests): the ACL is not checked against the bucket's settings; uploads
    /// through the API call [`S3Store::check_acl`] first.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
        acl: Acl,
    ) -> Result<String, S3Error> {
        let meta = ObjectMeta {
            content_type: content_type.map(str::to_owned),
            cache_control: None,
        };
        self.put_object_with(bucket, key, body, meta, acl)
    }

    /// [`S3Store::put_object`] with all the metadata an upload carries.
    pub fn put_object_with(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        meta: ObjectMeta,
        acl: Acl,
    ) -> Result<String, S3Error> {
        if key.is_empty() || key.len() > 1024 {
            return Err(S3Error::KeyTooLong);
        }
        let etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
        let now = self.clock.now();
        let mut buckets = self.write();
        let b = buckets
            .get_mut(bucket)
            .ok_or_else(|| S3Error::NoSuchBucket(bucket.to_owned()))?;
        let object = Object {
            body,
            content_type: meta
                .content_type
                .unwrap_or_else(|| "binary/octet-stream".to_owned()),
            etag: etag.clone(),
            last_modified: now,
            acl,
            cache_control: meta.cache_control,
        };
        b.objects.insert(key.to_owned(), object);
        Ok(etag)
    }

    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Object, S3Error> {
        let buckets = self.read();
        let b = buckets
            .get(bucket)
            .ok_or_else(|| S3Error::NoSuchBucket(bucket.to_owned()))?;
        b.objects
            .get(key)
            .cloned()
            .ok_or_else(|| S3Error::NoSuchKey(key.to_owned()))
    }

    pub fn set_acl(&self, bucket: &str, key: &str, acl: Acl) -> Result<(), S3Error> {
        let mut buckets = self.write();
        let b = buckets
            .get_mut(bucket)
            .ok_or_else(|| S3Error::NoSuchBucket(bucket.to_owned()))?;
        let object = b
            .objects
            .get_mut(key)
            .ok_or_else(|| S3Error::NoSuchKey(key.to_owned()))?;
        object.acl = acl;
        Ok(())
    }

    /// Deleting a missing key succeeds, as in S3.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        let mut buckets = self.write();
        let b = buckets
            .get_mut(bucket)
            .ok_or_else(|| S3Error::NoSuchBucket(bucket.to_owned()))?;
        b.objects.remove(key);
        Ok(())
    }

    /// Keys (with size, ETag, date) under `prefix`, after `start_after`, at most `max`.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<(String, Object)>, S3Error> {
        let buckets = self.read();
        let b = buckets
            .get(bucket)
            .ok_or_else(|| S3Error::NoSuchBucket(bucket.to_owned()))?;
        Ok(b.objects
            .iter()
            .filter(|(k, _)| k.starts_with(prefix) && start_after.is_none_or(|s| k.as_str() > s))
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect())
    }
}

impl S3Store {
    fn with_bucket<T>(
        &self,
        bucket: &str,
        f: impl FnOnce(&Bucket) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        let buckets = self.read();
        let b = buckets
            .get(bucket)
            .ok_or_else(|| S3Error::NoSuchBucket(bucket.to_owned()))?;
        f(b)
    }

    fn with_bucket_mut<T>(
        &self,
        bucket: &str,
        f: impl FnOnce(&mut Bucket) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        let mut buckets = self.write();
        let b = buckets
            .get_mut(bucket)
            .ok_or_else(|| S3Error::NoSuchBucket(bucket.to_owned()))?;
        f(b)
    }

    /// Whether a request may set the canned ACL `canned` (`None`: no ACL given) in
    /// `bucket`: with ACLs disabled only `bucket-owner-full-control` passes
    /// (`AccessControlListNotSupported`, checked first as S3 does); with BlockPublicAcls a
    /// public ACL is `AccessDenied`.
    pub fn check_acl(&self, bucket: &str, canned: Option<&str>) -> Result<(), S3Error> {
        self.with_bucket(bucket, |b| {
            let Some(canned) = canned else {
                return Ok(());
            };
            if b.ownership == Some(ObjectOwnership::BucketOwnerEnforced)
                && canned != "bucket-owner-full-control"
            {
                return Err(S3Error::AccessControlListNotSupported);
            }
            if b.public_access_block
                .is_some_and(|block| block.block_public_acls)
                && Acl::canned_is_public(canned)
            {
                return Err(S3Error::AccessDenied);
            }
            Ok(())
        })
    }

    /// `PutBucketPolicy`: parsed, refused when public under BlockPublicPolicy.
    pub fn put_policy(&self, bucket: &str, text: &str) -> Result<(), S3Error> {
        let policy =
            BucketPolicy::parse(bucket, text).map_err(|e| S3Error::MalformedPolicy(e.0))?;
        self.with_bucket_mut(bucket, |b| {
            if policy.is_public()
                && b.public_access_block
                    .is_some_and(|block| block.block_public_policy)
            {
                return Err(S3Error::AccessDenied);
            }
            b.policy = Some(policy);
            Ok(())
        })
    }

    /// `GetBucketPolicy`: the text as stored.
    pub fn policy(&self, bucket: &str) -> Result<String, S3Error> {
        self.with_bucket(bucket, |b| {
            b.policy
                .as_ref()
                .map(|p| p.text.clone())
                .ok_or_else(|| S3Error::NoSuchBucketPolicy(bucket.to_owned()))
        })
    }

    pub fn delete_policy(&self, bucket: &str) -> Result<(), S3Error> {
        self.with_bucket_mut(bucket, |b| {
            b.policy = None;
            Ok(())
        })
    }

    /// `PutBucketOwnershipControls` (`None`: DeleteBucketOwnershipControls).
    pub fn set_ownership(
        &self,
        bucket: &str,
        ownership: Option<ObjectOwnership>,
    ) -> Result<(), S3Error> {
        self.with_bucket_mut(bucket, |b| {
            b.ownership = ownership;
            Ok(())
        })
    }

    pub fn ownership(&self, bucket: &str) -> Result<ObjectOwnership, S3Error> {
        self.with_bucket(bucket, |b| {
            b.ownership
                .ok_or_else(|| S3Error::OwnershipControlsNotFound(bucket.to_owned()))
        })
    }

    /// `PutPublicAccessBlock` (`None`: DeletePublicAccessBlock).
    pub fn set_public_access_block(
        &self,
        bucket: &str,
        block: Option<PublicAccessBlock>,
    ) -> Result<(), S3Error> {
        self.with_bucket_mut(bucket, |b| {
            b.public_access_block = block;
            Ok(())
        })
    }

    pub fn public_access_block(&self, bucket: &str) -> Result<PublicAccessBlock, S3Error> {
        self.with_bucket(bucket, |b| {
            b.public_access_block
                .ok_or_else(|| S3Error::NoSuchPublicAccessBlock(bucket.to_owned()))
        })
    }

    /// Reads an object as `requester` (someone other than the bucket owner). A missing
    /// key is `NoSuchKey` only for readers allowed to list the bucket; the others get
    /// AccessDenied, so they learn nothing about which keys exist (S3's rule).
    pub fn read_as(
        &self,
        bucket: &str,
        key: &str,
        requester: &Requester,
    ) -> Result<Object, ReadRefusal> {
        let buckets = self.read();
        let b = buckets.get(bucket).ok_or(ReadRefusal::NoSuchBucket)?;
        let object_arn = format!("arn:aws:s3:::{bucket}/{key}");
        match b.objects.get(key) {
            Some(object) => {
                access::decide(b, requester, "s3:GetObject", &object_arn, Some(object.acl))
                    .map_err(ReadRefusal::Denied)?;
                Ok(object.clone())
            }
            None => {
                let bucket_arn = format!("arn:aws:s3:::{bucket}");
                match access::decide(b, requester, "s3:ListBucket", &bucket_arn, None) {
                    Ok(()) => Err(ReadRefusal::NoSuchKey),
                    Err(denial) => Err(ReadRefusal::Denied(denial)),
                }
            }
        }
    }

    /// Whether `requester` may list `bucket` (a policy granting `s3:ListBucket`).
    pub fn may_list(&self, bucket: &str, requester: &Requester) -> Result<bool, S3Error> {
        self.with_bucket(bucket, |b| {
            let arn = format!("arn:aws:s3:::{bucket}");
            Ok(access::decide(b, requester, "s3:ListBucket", &arn, None).is_ok())
        })
    }

    /// `DeleteObjects`: each key deleted (a missing key counts as deleted, as in S3).
    pub fn delete_objects(&self, bucket: &str, keys: &[String]) -> Result<(), S3Error> {
        self.with_bucket_mut(bucket, |b| {
            for key in keys {
                b.objects.remove(key);
            }
            Ok(())
        })
    }
}

/// Why a read by someone other than the owner failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadRefusal {
    NoSuchBucket,
    NoSuchKey,
    Denied(Denial),
}

impl From<ReadRefusal> for AnonymousGetError {
    fn from(refusal: ReadRefusal) -> Self {
        match refusal {
            ReadRefusal::NoSuchBucket => AnonymousGetError::NoSuchBucket,
            ReadRefusal::NoSuchKey => AnonymousGetError::NoSuchKey,
            ReadRefusal::Denied(Denial::NotGranted) => AnonymousGetError::AccessDenied,
            ReadRefusal::Denied(other) => AnonymousGetError::AccessDeniedBecause(other.to_string()),
        }
    }
}

impl AnonymousObjects for S3Store {
    /// S3 would answer a missing key with AccessDenied unless the reader may list the
    /// bucket; STS's diagnosis says which it was, so a missing key is reported as such.
    fn get_anonymous(&self, bucket: &str, key: &str) -> Result<Bytes, AnonymousGetError> {
        if matches!(self.get_object(bucket, key), Err(S3Error::NoSuchKey(_))) {
            return Err(AnonymousGetError::NoSuchKey);
        }
        self.read_as(bucket, key, &Requester::Anonymous)
            .map(|object| object.body)
            .map_err(AnonymousGetError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    #[test]
    fn anonymous_reads_only_public_objects() {
        let s3 = S3Store::with_defaults(clock::system(), BucketDefaults::Legacy);
        s3.create_bucket("oidc-test", None).unwrap();
        s3.put_object(
            "oidc-test",
            "keys.json",
            Bytes::from_static(b"{}"),
            None,
            Acl::Private,
        )
        .unwrap();
        assert_eq!(
            s3.get_anonymous("oidc-test", "keys.json"),
            Err(AnonymousGetError::AccessDenied)
        );
        s3.set_acl("oidc-test", "keys.json", Acl::PublicRead)
            .unwrap();
        assert_eq!(
            s3.get_anonymous("oidc-test", "keys.json"),
            Ok(Bytes::from_static(b"{}"))
        );
        assert_eq!(
            s3.get_anonymous("oidc-test", "nope"),
            Err(AnonymousGetError::NoSuchKey)
        );
        assert_eq!(
            s3.get_anonymous("other", "keys.json"),
            Err(AnonymousGetError::NoSuchBucket)
        );
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        let s3 = S3Store::new(clock::system());
        for bad in [
            "ab",
            "UPPER",
            "-dash",
            "dash-",
            "a..b",
            "192.168.1.1",
            "under_score",
        ] {
            assert!(
                matches!(
                    s3.create_bucket(bad, None),
                    Err(S3Error::InvalidBucketName(_))
                ),
                "{bad}"
            );
        }
        s3.create_bucket("oidc-test-1.example", Some("eu-west-1"))
            .unwrap();
        assert_eq!(
            s3.bucket_region("oidc-test-1.example").unwrap(),
            "eu-west-1"
        );
        assert!(matches!(
            s3.create_bucket("oidc-test-1.example", None),
            Err(S3Error::BucketAlreadyOwnedByYou(_))
        ));
    }

    #[test]
    fn etag_is_quoted_md5() {
        let s3 = S3Store::new(clock::system());
        s3.create_bucket("b-1", None).unwrap();
        let etag = s3
            .put_object("b-1", "k", Bytes::from_static(b"hello"), None, Acl::Private)
            .unwrap();
        assert_eq!(etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    }
}
