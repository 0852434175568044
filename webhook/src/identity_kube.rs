//! The live, Kubernetes-backed [`IdentitySources`]: the server's SA cache (with its
//! grace-period lookup), ConfigMap and container-credentials file.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::identity::{
    ConfigMapIdentities, ContainerCredentialsIdentities, IdentitySources, ServiceAccountInfo,
};
use crate::sources::kube_sources::KubeSources;

/// The sources the server runs with.
pub type LiveSources = KubeSources<ConfigMapIdentities, ContainerCredentialsIdentities>;

impl IdentitySources for LiveSources {
    fn service_account<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Option<ServiceAccountInfo>> {
        async move {
            let entry = self.service_accounts.lookup(namespace, name).await?;
            Some(ServiceAccountInfo {
                namespace: entry.namespace.to_string(),
                name: entry.name.to_string(),
                annotations: entry.annotation_map(),
            })
        }
        .boxed()
    }

    fn configmap(&self) -> Arc<ConfigMapIdentities> {
        self.configmap.current()
    }

    fn container_credentials(&self) -> Arc<ContainerCredentialsIdentities> {
        KubeSources::container_credentials(self)
    }
}
