//! The emulated STS JWKS cache: keys live `jwks_ttl`, an unknown `kid` refetches at most
//! once per `refetch_interval`, and a failed refetch never evicts still-valid keys.
//! That is what makes "rotated the signer before republishing" and "republished but STS
//! still holds the old JWKS" reproducible under a [`ManualClock`](crate::clock::ManualClock).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use super::AnonymousObjects;
use super::discovery::{Discovered, discover};
use super::error::KeyRetrievalError;
use super::fetch::Fetcher;
use super::routes::IssuerRoutes;
use super::served_by::ServedBy;
use super::settings::OidcSettings;
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
        let fetcher = Fetcher {
            routes,
            s3,
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
                "cached keys fetched at {}; an unknown kid refetches at most every {:?}, next at {}",
                entry.fetched_at, settings.refetch_interval, next_allowed
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
                tracing::warn!(iss, %error, "issuer key retrieval failed");
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
