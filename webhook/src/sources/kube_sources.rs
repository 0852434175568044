//! Everything the admission path reads, assembled from the flags and kept up to date.
//!
//! Generic over the ConfigMap and container-credentials configuration types so that this
//! module does not depend on how the mutation library parses them; the admission side
//! implements its `IdentitySources` over [`KubeSources`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::cc_file::{Parser, WatchedFile};
use super::configmap::{ConfigMapState, ConfigParser};
use super::kube_watch::{KubeSaFetcher, watch_config_map, watch_service_accounts};
use super::sa_lookup::SaLookup;
use super::sa_store::SaStore;

/// How often the container-credentials file is re-read.
pub const CC_FILE_POLL: Duration = Duration::from_secs(2);

/// Settings taken from the flags.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// `--annotation-prefix`.
    pub annotation_prefix: String,
    /// `--namespace` (where the ConfigMap lives).
    pub namespace: String,
    /// `--watch-config-map`.
    pub watch_config_map: bool,
    /// `--watch-container-credentials-config` (None when empty).
    pub container_credentials_file: Option<PathBuf>,
    /// `--service-account-lookup-grace-period`.
    pub grace_period: Duration,
}

/// The live sources: SA cache with grace-period lookup, ConfigMap, container-credentials file.
pub struct KubeSources<C, CC> {
    /// ServiceAccount lookup (cache + grace period).
    pub service_accounts: SaLookup,
    /// ConfigMap configuration (empty unless `--watch-config-map`).
    pub configmap: Arc<ConfigMapState<C>>,
    /// Container-credentials configuration, when a file is watched.
    pub container_credentials: Option<Arc<WatchedFile<CC>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl<C, CC> std::fmt::Debug for KubeSources<C, CC> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSources").finish_non_exhaustive()
    }
}

impl<C, CC> Drop for KubeSources<C, CC> {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl<C: Default + Send + Sync + 'static, CC: Default + Send + Sync + 'static> KubeSources<C, CC> {
    /// Starts the watchers on `client` (they run until this value is dropped).
    pub fn spawn(
        client: kube::Client,
        opts: &SourceOptions,
        parse_config_map: ConfigParser<C>,
        parse_cc_file: Parser<CC>,
    ) -> Self {
        let store = SaStore::new(&opts.annotation_prefix);
        let mut tasks = vec![tokio::spawn(watch_service_accounts(
            client.clone(),
            Arc::clone(&store),
        ))];
        let configmap = ConfigMapState::new(parse_config_map);
        if opts.watch_config_map {
            let (client, ns, state) = (
                client.clone(),
                opts.namespace.clone(),
                Arc::clone(&configmap),
            );
            tasks.push(tokio::spawn(async move {
                watch_config_map(client, &ns, state).await
            }));
        }
        let container_credentials = opts.container_credentials_file.as_ref().map(|path| {
            let file = WatchedFile::new(path, parse_cc_file);
            tasks.push(file.spawn(CC_FILE_POLL));
            file
        });
        let fetcher = Arc::new(KubeSaFetcher::new(client));
        Self {
            service_accounts: SaLookup::new(store, fetcher, opts.grace_period),
            configmap,
            container_credentials,
            tasks,
        }
    }

    /// The SA cache (for readiness and the `pod_identity_webhook_used` gauge).
    pub fn store(&self) -> &Arc<SaStore> {
        self.service_accounts.store()
    }

    /// The container-credentials configuration in force (empty when no file is watched).
    pub fn container_credentials(&self) -> Arc<CC> {
        self.container_credentials
            .as_ref()
            .map(|f| f.current())
            .unwrap_or_else(|| Arc::new(CC::default()))
    }
}
