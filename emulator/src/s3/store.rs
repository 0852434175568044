use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use md5::{Digest, Md5};
use time::OffsetDateTime;

use super::errors::S3Error;
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
}

/// One bucket and its objects, sorted by key (ListObjectsV2 order).
#[derive(Debug, Clone)]
pub struct Bucket {
    pub region: String,
    pub created: OffsetDateTime,
    pub objects: BTreeMap<String, Object>,
}

/// All buckets. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct S3Store {
    buckets: Arc<RwLock<BTreeMap<String, Bucket>>>,
    clock: SharedClock,
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
    pub fn new(clock: SharedClock) -> Self {
        Self {
            buckets: Arc::default(),
            clock,
        }
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

    /// Stores an object, replacing any previous one, and returns its ETag.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
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
            content_type: content_type.unwrap_or("binary/octet-stream").to_owned(),
            etag: etag.clone(),
            last_modified: now,
            acl,
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

impl AnonymousObjects for S3Store {
    fn get_anonymous(&self, bucket: &str, key: &str) -> Result<Bytes, AnonymousGetError> {
        match self.get_object(bucket, key) {
            Ok(object) if object.acl == Acl::PublicRead => Ok(object.body),
            Ok(_) => Err(AnonymousGetError::AccessDenied),
            Err(S3Error::NoSuchBucket(_)) => Err(AnonymousGetError::NoSuchBucket),
            Err(_) => Err(AnonymousGetError::NoSuchKey),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    #[test]
    fn anonymous_reads_only_public_objects() {
        let s3 = S3Store::new(clock::system());
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
