//! Feeding the stores from the API server: client construction, the cluster-wide
//! ServiceAccount metadata watch, the ConfigMap watch, and the direct SA GET.
//!
//! The SA watch is metadata-only (`PartialObjectMeta`): the webhook never needs an SA's
//! secrets list, and the list response for 50,000 SAs is much smaller.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use super::configmap::{ConfigMapEvent, ConfigMapState};
use super::sa_lookup::SaFetcher;
use super::sa_store::{SaEvent, SaObject, SaStore};

/// Name of the watched ConfigMap (fixed, as in the reference).
pub const CONFIG_MAP_NAME: &str = "pod-identity-webhook";

/// Client construction failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The kubeconfig file could not be read.
    #[error("failed to read kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The path given.
        path: String,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// `--kube-api` is not a URL.
    #[error("invalid --kube-api {0:?}")]
    KubeApi(String),
    /// No in-cluster environment and no kubeconfig.
    #[error("failed to infer a Kubernetes client configuration: {0}")]
    Infer(#[from] kube::config::InferConfigError),
    /// The client could not be built.
    #[error("failed to build the Kubernetes client: {0}")]
    Build(#[from] kube::Error),
}

/// A client from `--kubeconfig` / `--kube-api`, or the in-cluster configuration when both are empty.
pub async fn client(kubeconfig: &str, kube_api: &str) -> Result<kube::Client, ClientError> {
    let mut config = if !kubeconfig.is_empty() {
        let kc = Kubeconfig::read_from(kubeconfig).map_err(|source| ClientError::Kubeconfig {
            path: kubeconfig.to_owned(),
            source,
        })?;
        kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|source| ClientError::Kubeconfig {
                path: kubeconfig.to_owned(),
                source,
            })?
    } else if !kube_api.is_empty() {
        let uri = kube_api
            .parse()
            .map_err(|_| ClientError::KubeApi(kube_api.to_owned()))?;
        kube::Config::new(uri)
    } else {
        kube::Config::infer().await?
    };
    if !kubeconfig.is_empty() && !kube_api.is_empty() {
        // Like client-go's BuildConfigFromFlags: the master URL overrides the kubeconfig's.
        config.cluster_url = kube_api
            .parse()
            .map_err(|_| ClientError::KubeApi(kube_api.to_owned()))?;
    }
    Ok(super::kube_client::build(config)?)
}

fn sa_object(meta: kube::api::ObjectMeta) -> Option<SaObject> {
    Some(SaObject {
        namespace: meta.namespace?,
        name: meta.name?,
        annotations: meta.annotations.unwrap_or_default(),
    })
}

/// The watches' reconnect delays: 250 ms doubling to at most 5 s, from the start again once
/// an event arrives. kube's default grows to 30 s, which after an apiserver restart leaves
/// the webhook admitting pods with a stale view of ServiceAccounts for up to half a minute
/// after the apiserver is back; a relist every 5 s while it is down costs it nothing.
#[derive(Debug, Clone)]
struct QuickBackoff {
    next: std::time::Duration,
}

impl QuickBackoff {
    const FIRST: std::time::Duration = std::time::Duration::from_millis(250);
    const MAX: std::time::Duration = std::time::Duration::from_secs(5);
}

impl Default for QuickBackoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

impl Iterator for QuickBackoff {
    type Item = std::time::Duration;

    fn next(&mut self) -> Option<Self::Item> {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        Some(delay)
    }
}

impl kube::runtime::utils::Backoff for QuickBackoff {
    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Watches every ServiceAccount (metadata only) into `store`, forever, with backoff on errors.
///
/// Since kube 5 an `Api<PartialObjectMeta<K>>` sends `Accept:
/// application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1` on its lists (and
/// `as=PartialObjectMetadata` on watches), so the apiserver strips every SA to its metadata;
/// `runtime::metadata_watcher` is deprecated in favour of exactly this.
/// `tests/sa_metadata_watch.rs` checks the header against a stand-in apiserver.
pub async fn watch_service_accounts(client: kube::Client, store: Arc<SaStore>) {
    let api: Api<PartialObjectMeta<ServiceAccount>> = Api::all(client);
    let stream = watcher::watcher(api, watcher::Config::default()).backoff(QuickBackoff::default());
    futures::pin_mut!(stream);
    while let Some(item) = stream.next().await {
        let event = match item {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "ServiceAccount watch error (retrying)");
                continue;
            }
        };
        let mapped = match event {
            Event::Apply(o) => sa_object(o.metadata).map(SaEvent::Apply),
            Event::InitApply(o) => sa_object(o.metadata).map(SaEvent::InitApply),
            Event::Delete(o) => sa_object(o.metadata).map(|s| SaEvent::Delete {
                namespace: s.namespace,
                name: s.name,
            }),
            Event::Init => Some(SaEvent::Init),
            Event::InitDone => {
                tracing::info!("ServiceAccount cache synced");
                Some(SaEvent::InitDone)
            }
        };
        if let Some(ev) = mapped {
            store.apply(ev);
        }
    }
}

/// Watches ConfigMap `pod-identity-webhook` in `namespace` into `state`.
/// A relist that no longer finds it clears the configuration (the reference keeps it).
pub async fn watch_config_map<T: Default + Send + Sync + 'static>(
    client: kube::Client,
    namespace: &str,
    state: Arc<ConfigMapState<T>>,
) {
    let api: Api<ConfigMap> = Api::namespaced(client, namespace);
    let cfg = watcher::Config::default().fields(&format!("metadata.name={CONFIG_MAP_NAME}"));
    let stream = watcher::watcher(api, cfg).backoff(QuickBackoff::default());
    futures::pin_mut!(stream);
    let mut seen_in_relist = false;
    while let Some(item) = stream.next().await {
        let event = match item {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "ConfigMap watch error (retrying)");
                continue;
            }
        };
        let config_of = |cm: ConfigMap| cm.data.and_then(|mut d| d.remove("config"));
        let mapped = match event {
            Event::Init => {
                seen_in_relist = false;
                None
            }
            Event::InitApply(cm) => {
                seen_in_relist = true;
                Some(ConfigMapEvent::Apply(config_of(cm)))
            }
            Event::InitDone => (!seen_in_relist).then_some(ConfigMapEvent::Delete),
            Event::Apply(cm) => Some(ConfigMapEvent::Apply(config_of(cm))),
            Event::Delete(_) => Some(ConfigMapEvent::Delete),
        };
        if let Some(ev) = mapped {
            for w in state.apply(ev) {
                tracing::warn!(warning = %w, "ConfigMap {CONFIG_MAP_NAME}");
            }
        }
    }
}

/// Direct SA GET (metadata only) for the grace-period lookup.
#[derive(Clone)]
pub struct KubeSaFetcher {
    client: kube::Client,
}

impl std::fmt::Debug for KubeSaFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSaFetcher").finish_non_exhaustive()
    }
}

impl KubeSaFetcher {
    /// A fetcher using `client`.
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

impl SaFetcher for KubeSaFetcher {
    fn fetch(
        &self,
        namespace: &str,
        name: &str,
    ) -> BoxFuture<'static, Result<Option<SaObject>, String>> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let name = name.to_owned();
        async move {
            let meta = api
                .get_metadata_opt(&name)
                .await
                .map_err(|e| e.to_string())?;
            Ok(meta.and_then(|m| sa_object(m.metadata)))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::utils::Backoff;

    #[test]
    fn reconnect_delays_double_to_five_seconds_and_start_over_after_a_reset() {
        let mut backoff = QuickBackoff::default();
        let delays: Vec<u128> = (&mut backoff).take(7).map(|d| d.as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        backoff.reset();
        assert_eq!(backoff.next().map(|d| d.as_millis()), Some(250));
    }
}
