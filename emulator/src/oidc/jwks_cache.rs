//! STS's cache of issuers' JWKS. AWS does not document its caching; this one has a TTL and
//! a throttled refetch on unknown `kid`, both configurable, so that "rotated the signer
//! before republishing" and "republished but STS still has the old keys" reproduce.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use super::AnonymousObjects;
use super::discovery::{Published, fetch_published};
use super::errors::KeyRetrievalError;
use super::fetch::{Fetcher, ServedBy};
use super::resolve::IssuerRoutes;
use super::settings::OidcSettings;
use crate::clock::SharedClock;
use crate::issuer::Jwk;

/// A key found for a token.
#[derive(Debug, Clone)]
pub struct KeyLookup {
    pub jwk: Jwk,
    /// Things a stricter verifier would reject (issuer field mismatch, ...).
    pub warnings: Vec<String>,
    pub served_by: ServedBy,
}

#[derive(Debug, Clone)]
struct Entry {
    published: Arc<Published>,
    fetched_at: OffsetDateTime,
}

/// Verification keys by issuer.
#[derive(Debug)]
pub struct JwksCache {
    fetcher: Fetcher,
    clock: SharedClock,
    entries: Mutex<HashMap<String, Entry>>,
    /// One fetch at a time per issuer: concurrent lookups wait for it instead of
    /// stampeding the issuer.
    fetch_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl JwksCache {
    pub fn new(
        settings: OidcSettings,
        routes: IssuerRoutes,
        s3: Arc<dyn AnonymousObjects>,
        clock: SharedClock,
    ) -> Self {
        Self {
            fetcher: Fetcher::new(routes, s3, settings),
            clock,
            entries: Mutex::default(),
            fetch_locks: Mutex::default(),
        }
    }

    pub fn settings(&self) -> &OidcSettings {
        self.fetcher.settings()
    }

    /// Forgets one issuer's keys (the next lookup fetches).
    pub fn invalidate(&self, iss: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(iss);
    }

    /// Forgets every issuer's keys.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn cached(&self, iss: &str) -> Option<Entry> {
        let entry = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(iss)
            .cloned()?;
        let age = self.clock.now() - entry.fetched_at;
        (age < self.fetcher.settings().jwks_ttl).then_some(entry)
    }

    fn lookup(entry: &Entry, kid: &str, throttled: bool) -> Result<KeyLookup, KeyRetrievalError> {
        let published = &entry.published;
        match published.jwks.find(kid).next() {
            Some(jwk) => Ok(KeyLookup {
                jwk: jwk.clone(),
                warnings: published.warnings.clone(),
                served_by: published.served_by.clone(),
            }),
            None => Err(KeyRetrievalError::NoMatchingKey {
                kid: kid.to_owned(),
                url: published.jwks_uri.clone(),
                published: published.jwks.keys.iter().map(|k| k.kid.clone()).collect(),
                throttled,
            }),
        }
    }

    /// The key with `kid` for issuer `iss` (`kid` is `""` for a token without one: only a
    /// JWK whose kid is the empty string matches it).
    pub async fn key_for(&self, iss: &str, kid: &str) -> Result<KeyLookup, KeyRetrievalError> {
        let refetch_interval = self.fetcher.settings().refetch_interval;
        if let Some(entry) = self.cached(iss) {
            match Self::lookup(&entry, kid, true) {
                Ok(found) => return Ok(found),
                Err(e) if self.clock.now() - entry.fetched_at < refetch_interval => return Err(e),
                Err(_) => {}
            }
        }
        let lock = {
            let mut locks = self.fetch_locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(iss.to_owned()).or_default().clone()
        };
        let _guard = lock.lock().await;
        // Someone else may have fetched while we waited.
        let before = self.cached(iss);
        if let Some(entry) = &before
            && (self.clock.now() - entry.fetched_at < refetch_interval
                || Self::lookup(entry, kid, true).is_ok())
        {
            return Self::lookup(entry, kid, true);
        }
        match fetch_published(&self.fetcher, iss).await {
            Ok(published) => {
                let entry = Entry {
                    published: Arc::new(published),
                    fetched_at: self.clock.now(),
                };
                self.entries
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(iss.to_owned(), entry.clone());
                Self::lookup(&entry, kid, false)
            }
            // A failed refetch keeps serving the keys we still hold: the new kid is still
            // unknown, but tokens signed with cached keys keep working.
            Err(e) => match before {
                Some(entry) => Self::lookup(&entry, kid, false).or(Err(e)),
                None => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::oidc::AnonymousGetError;

    #[derive(Debug, Default)]
    struct FakeS3 {
        objects: Mutex<HashMap<String, (Bytes, bool)>>,
        gets: Mutex<usize>,
    }

    impl FakeS3 {
        fn put(&self, key: &str, body: &str, public: bool) {
            self.objects
                .lock()
                .unwrap()
                .insert(key.into(), (Bytes::from(body.to_owned()), public));
        }
        fn gets(&self) -> usize {
            *self.gets.lock().unwrap()
        }
    }

    impl AnonymousObjects for FakeS3 {
        fn get_anonymous(&self, bucket: &str, key: &str) -> Result<Bytes, AnonymousGetError> {
            *self.gets.lock().unwrap() += 1;
            if bucket != "oidc" {
                return Err(AnonymousGetError::NoSuchBucket);
            }
            match self.objects.lock().unwrap().get(key) {
                Some((body, true)) => Ok(body.clone()),
                Some((_, false)) => Err(AnonymousGetError::AccessDenied),
                None => Err(AnonymousGetError::NoSuchKey),
            }
        }
    }

    const ISS: &str = "https://s3.us-east-1.amazonaws.com/oidc";

    fn publish(s3: &FakeS3, kids: &[Option<&str>]) {
        s3.put(
            ".well-known/openid-configuration",
            &format!(r#"{{"issuer":"{ISS}","jwks_uri":"{ISS}/keys.json"}}"#),
            true,
        );
        let keys: Vec<String> = kids
            .iter()
            .map(|kid| match kid {
                Some(k) => format!(r#"{{"kty":"RSA","kid":"{k}","n":"AQAB","e":"AQAB"}}"#),
                None => r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#.to_owned(),
            })
            .collect();
        s3.put(
            "keys.json",
            &format!(r#"{{"keys":[{}]}}"#, keys.join(",")),
            true,
        );
    }

    fn cache(s3: &Arc<FakeS3>, clock: &Arc<ManualClock>) -> JwksCache {
        JwksCache::new(
            OidcSettings::default(),
            IssuerRoutes::default(),
            s3.clone(),
            clock.clone(),
        )
    }

    #[tokio::test]
    async fn ttl_and_throttled_refetch() {
        let s3 = Arc::new(FakeS3::default());
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        let cache = cache(&s3, &clock);
        publish(&s3, &[Some("a")]);
        assert_eq!(
            cache.key_for(ISS, "a").await.unwrap().jwk.kid.as_deref(),
            Some("a")
        );
        assert_eq!(s3.gets(), 2);

        // The signer rotates to "b" before the JWKS is republished.
        let err = cache.key_for(ISS, "b").await.unwrap_err();
        assert!(
            matches!(
                err,
                KeyRetrievalError::NoMatchingKey {
                    throttled: true,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(s3.gets(), 2, "throttled: no refetch");
        publish(&s3, &[Some("a"), Some("b")]);
        clock.advance(Duration::from_secs(60));
        assert!(
            cache.key_for(ISS, "b").await.is_err(),
            "still within the refetch interval"
        );
        clock.advance(Duration::from_secs(300));
        assert!(
            cache.key_for(ISS, "b").await.is_ok(),
            "refetched after the interval"
        );
        assert_eq!(s3.gets(), 4);

        // Known kids are served from cache until the TTL, then refetched.
        cache.key_for(ISS, "a").await.unwrap();
        assert_eq!(s3.gets(), 4);
        clock.advance(Duration::from_secs(3600));
        cache.key_for(ISS, "a").await.unwrap();
        assert_eq!(s3.gets(), 6);
    }

    #[tokio::test]
    async fn failed_refetch_keeps_cached_keys() {
        let s3 = Arc::new(FakeS3::default());
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        let cache = cache(&s3, &clock);
        publish(&s3, &[Some("a")]);
        cache.key_for(ISS, "a").await.unwrap();
        s3.put("keys.json", "not json", true);
        clock.advance(Duration::from_secs(600));
        // Unknown kid triggers a refetch, which fails; "a" still works from cache.
        assert!(cache.key_for(ISS, "zzz").await.is_err());
        assert!(cache.key_for(ISS, "a").await.is_ok());
    }

    #[tokio::test]
    async fn empty_kid_matches_only_an_empty_kid_jwk() {
        let s3 = Arc::new(FakeS3::default());
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        publish(&s3, &[Some("a"), None]);
        let err = cache(&s3, &clock).key_for(ISS, "").await.unwrap_err();
        assert!(
            matches!(err, KeyRetrievalError::NoMatchingKey { .. }),
            "a JWK without kid is unusable: {err}"
        );
        publish(&s3, &[Some("a"), Some("")]);
        assert_eq!(
            cache(&s3, &clock)
                .key_for(ISS, "")
                .await
                .unwrap()
                .jwk
                .kid
                .as_deref(),
            Some("")
        );
    }

    #[tokio::test]
    async fn private_objects_and_unroutable_issuers_fail() {
        let s3 = Arc::new(FakeS3::default());
        let clock = Arc::new(ManualClock::at_unix(clock_start()));
        publish(&s3, &[Some("a")]);
        s3.put("keys.json", r#"{"keys":[]}"#, false);
        let err = cache(&s3, &clock).key_for(ISS, "a").await.unwrap_err();
        assert!(err.to_string().contains("not public"), "{err}");
        let err = cache(&s3, &clock)
            .key_for("https://oidc.example.com", "a")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no route"), "{err}");
    }

    #[tokio::test]
    async fn issuer_field_mismatch_warns_or_fails() {
        let s3 = Arc::new(FakeS3::default());
        let clock = Arc::new(ManualClock::at_unix(clock_start()));
        publish(&s3, &[Some("a")]);
        s3.put(
            ".well-known/openid-configuration",
            &format!(r#"{{"issuer":"{ISS}/","jwks_uri":"{ISS}/keys.json"}}"#),
            true,
        );
        let found = cache(&s3, &clock).key_for(ISS, "a").await.unwrap();
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        let strict = OidcSettings {
            issuer_field_check: super::super::IssuerFieldCheck::Strict,
            ..OidcSettings::default()
        };
        let strict = JwksCache::new(strict, IssuerRoutes::default(), s3.clone(), clock.clone());
        assert!(matches!(
            strict.key_for(ISS, "a").await,
            Err(KeyRetrievalError::IssuerMismatch { .. })
        ));
    }

    fn clock_start() -> i64 {
        ManualClock::at_unix(1_700_000_000).unix()
    }
}
