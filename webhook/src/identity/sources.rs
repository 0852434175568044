use std::collections::BTreeMap;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::{ConfigMapIdentities, ContainerCredentialsIdentities};

/// A ServiceAccount as the webhook sees it: only annotations with the prefix are kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceAccountInfo {
    pub namespace: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
}

impl ServiceAccountInfo {
    /// The usual IRSA ServiceAccount: annotated `<prefix>/role-arn: <role_arn>`.
    pub fn with_role_arn(namespace: &str, name: &str, prefix: &str, role_arn: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            annotations: [(format!("{prefix}/role-arn"), role_arn.to_owned())].into(),
        }
    }
}

/// Where identities come from: the SA cache, the ConfigMap, the container-credentials file.
pub trait IdentitySources: Send + Sync {
    /// The ServiceAccount, `None` when it does not exist (after any grace period).
    fn service_account<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Option<ServiceAccountInfo>>;
    fn configmap(&self) -> Arc<ConfigMapIdentities>;
    fn container_credentials(&self) -> Arc<ContainerCredentialsIdentities>;
}

/// Fixed sources: offline mode and tests.
#[derive(Debug, Clone, Default)]
pub struct StaticSources {
    pub service_accounts: Vec<ServiceAccountInfo>,
    pub configmap: Arc<ConfigMapIdentities>,
    pub container_credentials: Arc<ContainerCredentialsIdentities>,
}

impl IdentitySources for StaticSources {
    fn service_account<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Option<ServiceAccountInfo>> {
        let found = self
            .service_accounts
            .iter()
            .find(|sa| sa.namespace == namespace && sa.name == name)
            .cloned();
        async move { found }.boxed()
    }

    fn configmap(&self) -> Arc<ConfigMapIdentities> {
        self.configmap.clone()
    }

    fn container_credentials(&self) -> Arc<ContainerCredentialsIdentities> {
        self.container_credentials.clone()
    }
}
