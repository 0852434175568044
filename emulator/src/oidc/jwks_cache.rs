//! The emulated STS JWKS cache: keys live `jwks_ttl`, an unknown `kid` refetches at most
//! once per `refetch_interval`, and a failed refetch never evicts still-valid keys.
//! That is what makes "rotated the signer before republishing" and "republished but STS
//! still holds the old JWKS" reproducible under a [`ManualClock`](crate::clock::ManualClock).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::discovery::{Discovered, discover};
use super::error::KeyRetrievalError;
use super::fetch::Fetcher;
use super::routes::IssuerRoutes;
use super::served_by::ServedBy;
use super::settings::OidcSettings;
use super::{AnonymousObjects, Edges};
use crate::clock::SharedClock;
use crate::issuer::Jwk;

/// The key found for `(iss, kid)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLookup {
    pub jwk: Jwk,
    /// Non-fatal findings from discovery (issuer field mismatch, missing advisory fields).
    pub warnings: Vec<String>,
    /// How the JWKS host proved itself, for the provider-thumbprint check.
    pub served_by: ServedBy,
}

/// Per-issuer JWKS cache in front of discovery. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fetcher: Fetcher,
    settings: OidcSettings,
    clock: SharedClock,
    /// One async lock per issuer: concurrent lookups wait for a single fetch instead of
    /// all fetching (no stampede), and then read its result.
    issuers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<IssuerState>>>>,
    /// Discovery fetches attempted since creation (scenarios assert how often STS fetched).
    fetches: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default)]
struct IssuerState {
    entry: Option<Entry>,
    /// Last fetch attempt, successful or not: the refetch throttle counts from it.
    last_attempt: Option<OffsetDateTime>,
}

#[derive(Debug)]
struct Entry {
    discovered: Discovered,
    fetched_at: OffsetDateTime,
}

impl JwksCache {
    pub fn new(
        settings: OidcSettings,
        routes: IssuerRoutes,
        s3: Arc<dyn AnonymousObjects>,
        clock: SharedClock,
    ) -> Self {
        Self::with_edges(settings, routes, s3, None, clock)
    }

    /// [`JwksCache::new`] with a CDN edge for `*.cloudfront.net` issuers.
    pub fn with_edges(
        settings: OidcSettings,
        routes: IssuerRoutes,
        s3: Arc<dyn AnonymousObjects>,
        edges: Option<Arc<dyn Edges>>,
        clock: SharedClock,
    ) -> Self {
        let fetcher = Fetcher {
            routes,
            s3,
            edges,
            timeout: settings.fetch_timeout,
            max_body_bytes: settings.max_body_bytes,
            max_redirects: settings.max_redirects,
        };
        Self {
            inner: Arc::new(Inner {
                fetcher,
                settings,
                clock,
                issuers: Mutex::new(HashMap::new()),
                fetches: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &OidcSettings {
        &self.inner.settings
    }

    /// The JWK of `iss` whose `kid` equals `kid` exactly (a token without `kid` is looked
    /// up with `""`, which matches only `"kid": ""`; a JWK without `kid` never matches).
    ///
    /// Fetches when nothing fresh is cached; with fresh keys lacking `kid`, refetches only
    /// if the last attempt is at least `refetch_interval` old.
    ///
    /// # Errors
    /// A [`KeyRetrievalError`] naming the failing step; STS maps all of them to AWS's
    /// "Couldn't retrieve verification key" message.
    pub async fn key_for(&self, iss: &str, kid: &str) -> Result<KeyLookup, KeyRetrievalError> {
        let state = self.state_for(iss);
        let mut state = state.lock().await;
        let settings = &self.inner.settings;
        let now = self.inner.clock.now();

        let ttl = settings.jwks_ttl;
        let Some(entry) = state
            .entry
            .as_ref()
            .filter(|entry| now - entry.fetched_at < ttl)
        else {
            // Expired keys are never served stale: an unreachable issuer fails, like STS.
            state.entry = None;
            let discovered = self.fetch(&mut state, iss, now).await?;
            return lookup(&discovered, iss, kid, "keys fetched just now".to_owned());
        };
        if let Ok(found) = lookup(&entry.discovered, iss, kid, String::new()) {
            return Ok(found);
        }
        let last_attempt = state.last_attempt.unwrap_or(entry.fetched_at);
        let next_allowed = last_attempt + settings.refetch_interval;
        if now < next_allowed {
            let detail = format!(
                "cached keys fetched at {}; an unknown kid refetches at most every {} s, next at {}",
                rfc3339(entry.fetched_at),
                settings.refetch_interval.as_secs(),
                rfc3339(next_allowed)
            );
            return lookup(&entry.discovered, iss, kid, detail);
        }
        tracing::info!(iss, kid, "unknown kid: refetching the issuer's JWKS");
        // On failure the old entry stays: other kids keep verifying until it expires.
        let discovered = self.fetch(&mut state, iss, now).await?;
        lookup(&discovered, iss, kid, "refetched just now".to_owned())
    }

    /// Forgets the cached keys of `iss` (the next lookup fetches).
    pub fn invalidate(&self, iss: &str) {
        self.issuers().remove(iss);
    }

    /// How many times an issuer's documents were fetched (attempts, failed ones included).
    pub fn fetch_count(&self) -> u64 {
        self.inner
            .fetches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets every cached key.
    pub fn clear(&self) {
        self.issuers().clear();
    }

    async fn fetch(
        &self,
        state: &mut IssuerState,
        iss: &str,
        now: OffsetDateTime,
    ) -> Result<Discovered, KeyRetrievalError> {
        state.last_attempt = Some(now);
        self.inner
            .fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = discover(
            &self.inner.fetcher,
            iss,
            self.inner.settings.issuer_field_check,
        )
        .await;
        match result {
            Ok(discovered) => {
                state.entry = Some(Entry {
                    discovered: discovered.clone(),
                    fetched_at: now,
                });
                Ok(discovered)
            }
            Err(error) => {
                // Escaped: the error quotes fetched documents (e.g. their `jwks_uri`).
                let shown = error.to_string();
                let shown = crate::log_text::one_line(&shown);
                tracing::warn!(iss, error = %shown, "issuer key retrieval failed");
                Err(error)
            }
        }
    }

    fn state_for(&self, iss: &str) -> Arc<tokio::sync::Mutex<IssuerState>> {
        self.issuers().entry(iss.to_owned()).or_default().clone()
    }

    fn issuers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<IssuerState>>>> {
        // The map holds no invariant a panic could break, so a poisoned lock is usable.
        self.inner
            .issuers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

fn lookup(
    discovered: &Discovered,
    iss: &str,
    kid: &str,
    detail: String,
) -> Result<KeyLookup, KeyRetrievalError> {
    match discovered.keys.find(kid).next() {
        Some(jwk) => Ok(KeyLookup {
            jwk: jwk.clone(),
            warnings: discovered.warnings.clone(),
            served_by: discovered.served_by.clone(),
        }),
        None => Err(KeyRetrievalError::NoMatchingKey {
            iss: iss.to_owned(),
            kid: kid.to_owned(),
            published: discovered.keys.keys.iter().map(|k| k.kid.clone()).collect(),
            detail,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::clock::ManualClock;
    use crate::oidc::{AnonymousGetError, FetchError, IssuerFieldCheck};

    const ISS: &str = "https://s3.us-east-1.amazonaws.com/oidc-test";
    const BUCKET: &str = "oidc-test";
    const DISCOVERY: &str = ".well-known/openid-configuration";
    const JWKS: &str = "keys.json";

    /// An in-memory bucket store that counts reads of the JWKS.
    #[derive(Debug, Default)]
    struct FakeS3 {
        objects: Mutex<HashMap<String, Result<Bytes, AnonymousGetError>>>,
        jwks_reads: Mutex<usize>,
    }

    impl FakeS3 {
        fn put(&self, key: &str, value: Result<&str, AnonymousGetError>) {
            self.objects.lock().unwrap().insert(
                key.to_owned(),
                value.map(|body| Bytes::from(body.to_owned())),
            );
        }

        fn publish(&self, kids: &[Option<&str>]) {
            let discovery = serde_json::json!({
                "issuer": ISS,
                "jwks_uri": format!("{ISS}/{JWKS}"),
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            });
            self.put(DISCOVERY, Ok(&discovery.to_string()));
            let keys: Vec<_> = kids
                .iter()
                .map(|kid| match kid {
                    Some(kid) => serde_json::json!({"kty": "RSA", "kid": kid, "n": format!("n-{kid}"), "e": "AQAB"}),
                    None => serde_json::json!({"kty": "RSA", "n": "n-none", "e": "AQAB"}),
                })
                .collect();
            self.put(JWKS, Ok(&serde_json::json!({ "keys": keys }).to_string()));
        }

        fn jwks_reads(&self) -> usize {
            *self.jwks_reads.lock().unwrap()
        }
    }

    impl AnonymousObjects for FakeS3 {
        fn get_anonymous(&self, bucket: &str, key: &str) -> Result<Bytes, AnonymousGetError> {
            if bucket != BUCKET {
                return Err(AnonymousGetError::NoSuchBucket);
            }
            if key == JWKS {
                *self.jwks_reads.lock().unwrap() += 1;
            }
            self.objects
                .lock()
                .unwrap()
                .get(key)
                .cloned()
                .unwrap_or(Err(AnonymousGetError::NoSuchKey))
        }
    }

    fn cache(s3: &Arc<FakeS3>, clock: &Arc<ManualClock>) -> JwksCache {
        cache_with(s3, clock, OidcSettings::default())
    }

    fn cache_with(s3: &Arc<FakeS3>, clock: &Arc<ManualClock>, settings: OidcSettings) -> JwksCache {
        JwksCache::new(settings, IssuerRoutes::new(), s3.clone(), clock.clone())
    }

    fn setup() -> (Arc<FakeS3>, Arc<ManualClock>) {
        (
            Arc::new(FakeS3::default()),
            Arc::new(ManualClock::at_unix(1_700_000_000)),
        )
    }

    #[tokio::test]
    async fn finds_the_key_and_caches_it_for_the_ttl() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        let cache = cache(&s3, &clock);
        let found = cache.key_for(ISS, "a").await.unwrap();
        assert_eq!(found.jwk.n.as_deref(), Some("n-a"));
        assert_eq!(found.served_by, ServedBy::WellKnownCa);
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);

        // The bucket changes, but within the TTL the cached keys are served.
        s3.publish(&[Some("b")]);
        clock.advance(Duration::from_secs(3599));
        assert!(cache.key_for(ISS, "a").await.is_ok());
        assert_eq!(s3.jwks_reads(), 1);

        // At the TTL the entry expires and the new JWKS is fetched.
        clock.advance(Duration::from_secs(1));
        let err = cache.key_for(ISS, "a").await.unwrap_err();
        assert!(
            matches!(err, KeyRetrievalError::NoMatchingKey { .. }),
            "{err:?}"
        );
        assert_eq!(s3.jwks_reads(), 2);
        assert!(cache.key_for(ISS, "b").await.is_ok());
    }

    #[tokio::test]
    async fn unknown_kid_refetches_only_after_the_interval() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        let cache = cache(&s3, &clock);
        cache.key_for(ISS, "a").await.unwrap();

        // Signer rotated to b before the JWKS lists it: the refetch is allowed only after
        // the interval, so republishing in between is not seen yet.
        clock.advance(Duration::from_secs(60));
        s3.publish(&[Some("a"), Some("b")]);
        let err = cache.key_for(ISS, "b").await.unwrap_err();
        assert!(
            matches!(err, KeyRetrievalError::NoMatchingKey { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("next at"), "{err}");
        assert_eq!(s3.jwks_reads(), 1);

        clock.advance(Duration::from_secs(239));
        assert!(cache.key_for(ISS, "b").await.is_err());
        assert_eq!(s3.jwks_reads(), 1);

        clock.advance(Duration::from_secs(1));
        let found = cache.key_for(ISS, "b").await.unwrap();
        assert_eq!(found.jwk.n.as_deref(), Some("n-b"));
        assert_eq!(s3.jwks_reads(), 2);
    }

    #[tokio::test]
    async fn a_refetch_that_finds_no_key_throttles_the_next_one() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        let cache = cache(&s3, &clock);
        cache.key_for(ISS, "a").await.unwrap();
        clock.advance(Duration::from_secs(300));
        assert!(cache.key_for(ISS, "b").await.is_err());
        assert_eq!(s3.jwks_reads(), 2);
        clock.advance(Duration::from_secs(10));
        s3.publish(&[Some("b")]);
        assert!(cache.key_for(ISS, "b").await.is_err());
        assert_eq!(s3.jwks_reads(), 2);
    }

    #[tokio::test]
    async fn failed_refetch_keeps_serving_cached_keys() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        let cache = cache(&s3, &clock);
        cache.key_for(ISS, "a").await.unwrap();

        s3.put(JWKS, Err(AnonymousGetError::AccessDenied));
        clock.advance(Duration::from_secs(600));
        let err = cache.key_for(ISS, "b").await.unwrap_err();
        assert!(
            matches!(
                &err,
                KeyRetrievalError::Jwks {
                    source: FetchError::S3 {
                        source: AnonymousGetError::AccessDenied,
                        ..
                    },
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(s3.jwks_reads(), 2);
        let found = cache.key_for(ISS, "a").await.unwrap();
        assert_eq!(found.jwk.n.as_deref(), Some("n-a"));
        assert_eq!(s3.jwks_reads(), 2);
    }

    #[tokio::test]
    async fn empty_kid_matches_only_an_empty_kid_field() {
        let (s3, clock) = setup();
        s3.publish(&[None, Some("x")]);
        let cache = cache(&s3, &clock);
        let err = cache.key_for(ISS, "").await.unwrap_err();
        match &err {
            KeyRetrievalError::NoMatchingKey { kid, published, .. } => {
                assert_eq!(kid, "");
                assert_eq!(published, &vec![None, Some("x".to_owned())]);
            }
            other => panic!("expected NoMatchingKey, got {other:?}"),
        }
        assert!(err.to_string().contains("<key without kid>"), "{err}");

        s3.publish(&[None, Some("")]);
        cache.invalidate(ISS);
        let found = cache.key_for(ISS, "").await.unwrap();
        assert_eq!(found.jwk.kid.as_deref(), Some(""));
    }

    #[tokio::test]
    async fn private_discovery_document_is_a_retrieval_error() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        s3.put(DISCOVERY, Err(AnonymousGetError::AccessDenied));
        let cache = cache(&s3, &clock);
        let err = cache.key_for(ISS, "a").await.unwrap_err();
        assert!(
            matches!(
                &err,
                KeyRetrievalError::Discovery {
                    source: FetchError::S3 {
                        source: AnonymousGetError::AccessDenied,
                        ..
                    },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("not public"), "{err}");
        // Failures are not cached: fixing the ACL works on the next call.
        s3.publish(&[Some("a")]);
        assert!(cache.key_for(ISS, "a").await.is_ok());
    }

    #[tokio::test]
    async fn invalidate_and_clear_force_a_fetch() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        let cache = cache(&s3, &clock);
        cache.key_for(ISS, "a").await.unwrap();
        cache.invalidate(ISS);
        cache.key_for(ISS, "a").await.unwrap();
        assert_eq!(s3.jwks_reads(), 2);
        cache.clear();
        cache.key_for(ISS, "a").await.unwrap();
        assert_eq!(s3.jwks_reads(), 3);
    }

    #[tokio::test]
    async fn issuer_field_mismatch_warns_or_fails_by_setting() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        let discovery =
            serde_json::json!({"issuer": format!("{ISS}/"), "jwks_uri": format!("{ISS}/{JWKS}")});
        s3.put(DISCOVERY, Ok(&discovery.to_string()));

        let found = cache(&s3, &clock).key_for(ISS, "a").await.unwrap();
        assert!(
            found.warnings.iter().any(|w| w.contains("declares issuer")),
            "{:?}",
            found.warnings
        );
        assert!(
            found
                .warnings
                .iter()
                .any(|w| w.contains("subject_types_supported")),
            "{:?}",
            found.warnings
        );

        let strict = OidcSettings {
            issuer_field_check: IssuerFieldCheck::Strict,
            ..OidcSettings::default()
        };
        let err = cache_with(&s3, &clock, strict)
            .key_for(ISS, "a")
            .await
            .unwrap_err();
        assert!(
            matches!(err, KeyRetrievalError::IssuerMismatch { .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn trailing_slash_issuer_uses_one_slash_before_well_known() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        let found = cache(&s3, &clock)
            .key_for(&format!("{ISS}/"), "a")
            .await
            .unwrap();
        assert!(found.warnings.iter().any(|w| w.contains("declares issuer")));
    }

    #[tokio::test]
    async fn oversized_s3_object_is_refused() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        s3.put(JWKS, Ok(&" ".repeat(64 * 1024 + 1)));
        let err = cache(&s3, &clock).key_for(ISS, "a").await.unwrap_err();
        assert!(
            matches!(
                err,
                KeyRetrievalError::Jwks {
                    source: FetchError::TooLarge { limit: 65536, .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn non_https_issuer_is_rejected_without_fetching() {
        let (s3, clock) = setup();
        s3.publish(&[Some("a")]);
        let err = cache(&s3, &clock)
            .key_for("http://s3.amazonaws.com/oidc-test", "a")
            .await
            .unwrap_err();
        assert!(
            matches!(err, KeyRetrievalError::InvalidIssuer { .. }),
            "{err:?}"
        );
        assert_eq!(s3.jwks_reads(), 0);
    }
}
