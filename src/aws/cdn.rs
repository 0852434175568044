//! A CDN in front of a bucket, as much as the stale-JWKS failure needs: it serves the
//! bucket's objects (read anonymously, as a public origin) and keeps each response for
//! its TTL, on the virtual clock, until an invalidation. STS reaches it through an issuer
//! mapping, so nothing leaves the machine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use irsa_emulator::clock::Clock;
use irsa_emulator::oidc::AnonymousObjects;
use irsa_emulator::s3::S3Store;
use time::OffsetDateTime;

/// One cached answer: when it was fetched from the origin, and what the origin said.
type Cached = (OffsetDateTime, Result<Bytes, StatusCode>);

/// The distribution's cache and origin.
#[derive(Debug, Clone)]
pub struct Cdn {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bucket: String,
    ttl: Duration,
    s3: S3Store,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Cdn {
    pub fn new(bucket: &str, ttl: Duration, s3: S3Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                bucket: bucket.to_owned(),
                ttl,
                s3,
                clock,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// `create-invalidation --paths`: exact paths, or a prefix ending in `*`.
    pub fn invalidate(&self, paths: &[String]) -> usize {
        let mut cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        let before = cache.len();
        cache.retain(|key, _| {
            let path = format!("/{key}");
            !paths.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => &path == p,
            })
        });
        before - cache.len()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/{*key}", get(serve))
            .with_state(self.clone())
    }
}

async fn serve(State(cdn): State<Cdn>, Path(key): Path<String>) -> Response {
    let inner = &cdn.inner;
    let now = inner.clock.now();
    let mut cache = inner.cache.lock().unwrap_or_else(|e| e.into_inner());
    let fresh = cache
        .get(&key)
        .filter(|(at, _)| (now - *at).unsigned_abs() < inner.ttl)
        .map(|(_, answer)| answer.clone());
    let (answer, hit) = match fresh {
        Some(answer) => (answer, "Hit from cloudfront"),
        None => {
            // The origin refuses what is not public (403), like S3 behind a public origin.
            let answer = inner
                .s3
                .get_anonymous(&inner.bucket, &key)
                .map_err(|_| StatusCode::FORBIDDEN);
            cache.insert(key, (now, answer.clone()));
            (answer, "Miss from cloudfront")
        }
    };
    match answer {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::HeaderName::from_static("x-cache"), hit),
            ],
            body,
        )
            .into_response(),
        Err(status) => (
            status,
            [(header::HeaderName::from_static("x-cache"), hit)],
            "AccessDenied",
        )
            .into_response(),
    }
}
