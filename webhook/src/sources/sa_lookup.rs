//! ServiceAccount lookup with the `--service-account-lookup-grace-period`.
//!
//! A pod can be admitted before the watcher has delivered its brand-new SA (the reference's
//! race). With a grace period, a cache miss starts a direct GET (de-duplicated per SA and
//! rate-limited) and waits, up to the grace period, for either the GET or the watcher.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::rate_limit::TokenBucket;
use super::sa_store::{SaEntry, SaEvent, SaObject, SaStore};

/// Fetches one SA directly from the API server.
pub trait SaFetcher: Send + Sync {
    /// `Ok(None)` when the SA does not exist; `Err` carries a message for the log.
    fn fetch(
        &self,
        namespace: &str,
        name: &str,
    ) -> BoxFuture<'static, Result<Option<SaObject>, String>>;
}

type Inflight = Shared<BoxFuture<'static, Option<Arc<SaEntry>>>>;

/// Cache lookup with the grace-period fallback.
pub struct SaLookup {
    store: Arc<SaStore>,
    fetcher: Arc<dyn SaFetcher>,
    grace: Duration,
    limiter: Arc<TokenBucket>,
    inflight: Arc<Mutex<HashMap<(String, String), Inflight>>>,
}

impl std::fmt::Debug for SaLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaLookup")
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl SaLookup {
    /// A lookup over `store`; `grace` zero disables the fallback (the reference's default).
    pub fn new(store: Arc<SaStore>, fetcher: Arc<dyn SaFetcher>, grace: Duration) -> Self {
        Self {
            store,
            fetcher,
            grace,
            limiter: Arc::new(TokenBucket::new(10.0, 20)),
            inflight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The underlying cache.
    pub fn store(&self) -> &Arc<SaStore> {
        &self.store
    }

    /// Finds an SA: from the cache, else (with a grace period) by waiting for the GET or watcher.
    pub async fn lookup(&self, namespace: &str, name: &str) -> Option<Arc<SaEntry>> {
        if let Some(e) = self.store.get(namespace, name) {
            return Some(e);
        }
        if self.grace.is_zero() {
            return None;
        }
        let fetch = self.fetch_deduplicated(namespace, name);
        let store = Arc::clone(&self.store);
        let watch = async {
            loop {
                let changed = store.changed();
                if let Some(e) = store.get(namespace, name) {
                    return Some(e);
                }
                changed.await;
            }
        };
        let fetched = async {
            // A failed or empty GET does not end the wait: the watcher may still deliver it.
            match fetch.await {
                Some(e) => Some(e),
                None => futures::future::pending().await,
            }
        };
        let either = async {
            tokio::select! {
                e = watch => e,
                e = fetched => e,
            }
        };
        tokio::time::timeout(self.grace, either)
            .await
            .ok()
            .flatten()
    }

    fn fetch_deduplicated(&self, namespace: &str, name: &str) -> Inflight {
        let key = (namespace.to_owned(), name.to_owned());
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = inflight.get(&key) {
            return f.clone();
        }
        let fetcher = Arc::clone(&self.fetcher);
        let limiter = Arc::clone(&self.limiter);
        let store = Arc::clone(&self.store);
        let map = Arc::clone(&self.inflight);
        let k = key.clone();
        let fut: BoxFuture<'static, Option<Arc<SaEntry>>> = async move {
            limiter.acquire().await;
            let result = fetcher.fetch(&k.0, &k.1).await;
            map.lock().unwrap_or_else(|p| p.into_inner()).remove(&k);
            match result {
                Ok(Some(obj)) => {
                    store.apply(SaEvent::Apply(obj));
                    store.get(&k.0, &k.1)
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(namespace = %k.0, name = %k.1, error = %e, "direct ServiceAccount lookup failed");
                    None
                }
            }
        }
        .boxed();
        let shared = fut.shared();
        // Drive the GET even if every waiter gives up, so the cache still gets the SA.
        tokio::spawn(shared.clone());
        inflight.insert(key, shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct CountingFetcher {
        calls: AtomicUsize,
        delay: Duration,
        exists: bool,
    }

    impl SaFetcher for CountingFetcher {
        fn fetch(
            &self,
            namespace: &str,
            name: &str,
        ) -> BoxFuture<'static, Result<Option<SaObject>, String>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let obj = SaObject {
                namespace: namespace.into(),
                name: name.into(),
                annotations: [(
                    "eks.amazonaws.com/role-arn".to_string(),
                    "arn:aws:iam::111122223333:role/r".to_string(),
                )]
                .into(),
            };
            let (delay, exists) = (self.delay, self.exists);
            async move {
                tokio::time::sleep(delay).await;
                Ok(exists.then_some(obj))
            }
            .boxed()
        }
    }

    fn fetcher(delay_ms: u64, exists: bool) -> Arc<CountingFetcher> {
        Arc::new(CountingFetcher {
            calls: AtomicUsize::new(0),
            delay: Duration::from_millis(delay_ms),
            exists,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn no_grace_means_no_get() {
        let f = fetcher(0, true);
        let l = SaLookup::new(SaStore::new("eks.amazonaws.com"), f.clone(), Duration::ZERO);
        assert!(l.lookup("ns", "a").await.is_none());
        assert_eq!(f.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_get_and_fill_the_cache() {
        let f = fetcher(50, true);
        let l = Arc::new(SaLookup::new(
            SaStore::new("eks.amazonaws.com"),
            f.clone(),
            Duration::from_secs(1),
        ));
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let l = Arc::clone(&l);
            tasks.push(tokio::spawn(async move { l.lookup("ns", "a").await }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_some());
        }
        assert_eq!(f.calls.load(Ordering::SeqCst), 1);
        assert!(l.store().get("ns", "a").is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_grace_period() {
        let f = fetcher(0, false);
        let l = SaLookup::new(
            SaStore::new("eks.amazonaws.com"),
            f.clone(),
            Duration::from_millis(300),
        );
        let start = tokio::time::Instant::now();
        assert!(l.lookup("ns", "missing").await.is_none());
        assert_eq!(start.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn watcher_delivery_ends_the_wait_before_a_slow_get() {
        let f = fetcher(10_000, false);
        let store = SaStore::new("eks.amazonaws.com");
        let l = SaLookup::new(Arc::clone(&store), f.clone(), Duration::from_secs(5));
        let feeder = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                store.apply(SaEvent::Apply(SaObject {
                    namespace: "ns".into(),
                    name: "late".into(),
                    annotations: Default::default(),
                }));
            })
        };
        let start = tokio::time::Instant::now();
        assert!(l.lookup("ns", "late").await.is_some());
        assert_eq!(start.elapsed(), Duration::from_millis(100));
        feeder.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn distinct_misses_are_rate_limited() {
        let f = fetcher(0, true);
        let l = Arc::new(SaLookup::new(
            SaStore::new("eks.amazonaws.com"),
            f.clone(),
            Duration::from_secs(10),
        ));
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..30 {
            let l = Arc::clone(&l);
            tasks.push(tokio::spawn(async move {
                l.lookup("ns", &format!("sa-{i}")).await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_some());
        }
        assert_eq!(f.calls.load(Ordering::SeqCst), 30);
        // 20 from the burst, 10 more at 10/s: one second.
        let e = start.elapsed();
        assert!(
            e >= Duration::from_millis(999) && e <= Duration::from_millis(1001),
            "{e:?}"
        );
    }
}
