//! The `emulated` backend: everything in this process. An apiserver model issues tokens
//! that a verifier cannot tell from kube-apiserver's, admission goes through the real
//! webhook over HTTPS, and a kubelet model projects the tokens of the *mutated* pod.

mod admission;
mod apiserver;
mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;

use irsa_emulator::clock::Clock;
use irsa_emulator::issuer::ObjectRef as ClaimRef;
use k8s_openapi::api::core::v1::Pod;
use pod_identity_webhook::identity::ServiceAccountInfo;
use serde_json::{Value, json};

use self::admission::AdmissionWebhook;
use self::apiserver::{Apiserver, Binding};
use super::kubelet::{self, Kubelet, resolve_mount};
use super::{
    Backend, BackendContext, BackendError, ClusterState, KubeError, TokenFile, TokenRequest,
};
use crate::scenario::kube::{KubeObject, ObjectRef};
use crate::scenario::limits::BackendKind;

/// The node every emulated pod is scheduled on.
const NODE: &str = "node-1";

type Key = (String, String);

/// In-process cluster.
#[derive(Debug)]
pub struct EmulatedBackend {
    apiserver: Apiserver,
    webhook: AdmissionWebhook,
    kubelet: Kubelet,
    clock: Arc<irsa_emulator::clock::ManualClock>,
    /// ServiceAccounts by (namespace, name): uid.
    service_accounts: BTreeMap<Key, String>,
    /// ConfigMaps' `data` by (namespace, name).
    config_maps: kubelet::ConfigMaps,
    /// Stored pods (after admission) by (namespace, name), with their uid.
    pods: kubelet::Pods,
    node_uid: String,
}

fn uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl EmulatedBackend {
    fn key(namespace: &str, name: &str) -> Key {
        (namespace.to_owned(), name.to_owned())
    }

    /// What the ServiceAccount admission plugin adds before any webhook sees the pod:
    /// the `default` service account name and the `kube-api-access-*` projected volume.
    fn default_service_account_volume(pod: &mut Value) {
        let spec = &mut pod["spec"];
        if spec["serviceAccountName"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            spec["serviceAccountName"] = json!("default");
        }
        if spec["automountServiceAccountToken"] == false {
            return;
        }
        let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..5].to_owned();
        let name = format!("kube-api-access-{suffix}");
        let volume = json!({"name": name, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
        ]}});
        match spec["volumes"].as_array_mut() {
            Some(volumes) => volumes.push(volume),
            None => spec["volumes"] = json!([volume]),
        }
        for list in ["initContainers", "containers"] {
            for container in spec[list].as_array_mut().into_iter().flatten() {
                let mount = json!({"name": name, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"});
                match container["volumeMounts"].as_array_mut() {
                    Some(mounts) => mounts.push(mount),
                    None => container["volumeMounts"] = json!([mount]),
                }
            }
        }
    }

    async fn create_pod(
        &mut self,
        namespace: &str,
        mut pod: Value,
    ) -> Result<Option<Pod>, KubeError> {
        let name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let sa = pod["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        let key = Self::key(namespace, &name);
        if self.pods.contains_key(&key) {
            return Err(KubeError::new(
                "AlreadyExists",
                format!("pods {name:?} already exists"),
            ));
        }
        if sa != "default"
            && !self
                .service_accounts
                .contains_key(&Self::key(namespace, &sa))
        {
            return Err(KubeError::new(
                "Forbidden",
                format!(
                    "pods {name:?} is forbidden: error looking up service account {namespace}/{sa}: serviceaccount {sa:?} not found"
                ),
            ));
        }
        pod["metadata"]["namespace"] = json!(namespace);
        Self::default_service_account_volume(&mut pod);
        let mut mutated = self.webhook.admit(namespace, &pod).await?.unwrap_or(pod);
        let pod_uid = uid();
        mutated["metadata"]["uid"] = json!(pod_uid);
        mutated["spec"]["nodeName"] = json!(NODE);
        self.pods.insert(key.clone(), (pod_uid, mutated.clone()));
        self.mount_tokens(&key, false);
        serde_json::from_value(mutated).map(Some).map_err(|e| {
            KubeError::new(
                "InternalError",
                format!("the admitted pod does not parse: {e}"),
            )
        })
    }

    /// The kubelet's TokenRequests for every projected token of the pod; `force` renews all.
    fn mount_tokens(&mut self, key: &Key, force: bool) -> Vec<KubeError> {
        let Some((pod_uid, pod)) = self.pods.get(key).cloned() else {
            return Vec::new();
        };
        let sa = pod["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        let now = self.apiserver.now();
        let mut errors = Vec::new();
        for (slot, projection) in self.kubelet.due(key, &pod, now, force) {
            let request = TokenRequest {
                namespace: key.0.clone(),
                service_account: sa.clone(),
                audiences: projection.audience.iter().cloned().collect(),
                expiration_seconds: projection.expiration_seconds,
                bound_pod: None,
            };
            let binding = Binding {
                pod: ClaimRef::new(&key.1, &pod_uid),
                node: Some(ClaimRef::new(NODE, &self.node_uid)),
            };
            // A deleted ServiceAccount: TokenRequest fails and the kubelet keeps the old token.
            let Some(sa_uid) = self.service_accounts.get(&Self::key(&key.0, &sa)).cloned() else {
                errors.push(KubeError::not_found("serviceaccounts", &sa));
                continue;
            };
            match self.apiserver.issue(&request, &sa_uid, Some(&binding)) {
                Ok(token) => self.kubelet.hold(key, slot, token, now),
                // On failure the kubelet keeps the old token.
                Err(error) => errors.push(error),
            }
        }
        errors
    }

    fn service_account_uid(&mut self, namespace: &str, name: &str) -> String {
        self.service_accounts
            .entry(Self::key(namespace, name))
            .or_insert_with(uid)
            .clone()
    }
}

impl Backend for EmulatedBackend {
    const KIND: BackendKind = BackendKind::Emulated;

    async fn start(cluster: &ClusterState, context: BackendContext) -> Result<Self, BackendError> {
        let clock: Arc<dyn Clock> = context.clock.clone();
        let apiserver = Apiserver::start(cluster, clock).await?;
        let webhook = AdmissionWebhook::start(&context.webhook).await?;
        let mut backend = Self {
            apiserver,
            webhook,
            kubelet: Kubelet::default(),
            clock: context.clock,
            service_accounts: BTreeMap::new(),
            config_maps: BTreeMap::new(),
            pods: BTreeMap::new(),
            node_uid: uid(),
        };
        // Every namespace has its `default` ServiceAccount.
        backend.service_account_uid("default", "default");
        backend
            .webhook
            .sources
            .put_service_account(ServiceAccountInfo {
                namespace: "default".into(),
                name: "default".into(),
                annotations: BTreeMap::new(),
            });
        Ok(backend)
    }

    async fn apply(&mut self, object: &KubeObject) -> Result<Option<Pod>, KubeError> {
        let namespace = object.namespace().to_owned();
        match object {
            KubeObject::ServiceAccount(sa) => {
                let name = object.name().to_owned();
                self.service_account_uid(&namespace, &name);
                self.webhook
                    .sources
                    .put_service_account(ServiceAccountInfo {
                        namespace,
                        name,
                        annotations: sa.metadata.annotations.clone().unwrap_or_default(),
                    });
                Ok(None)
            }
            KubeObject::ConfigMap(cm) => {
                self.config_maps.insert(
                    Self::key(&namespace, object.name()),
                    cm.data.clone().unwrap_or_default(),
                );
                if object.name() == "pod-identity-webhook"
                    && namespace == self.webhook.sources.namespace
                {
                    let config = cm.data.as_ref().and_then(|d| d.get("config"));
                    self.webhook
                        .sources
                        .set_configmap(config.map(String::as_str));
                }
                Ok(None)
            }
            KubeObject::Pod(pod) => {
                let value = serde_json::to_value(pod.as_ref())
                    .map_err(|e| KubeError::new("Invalid", e.to_string()))?;
                self.create_pod(&namespace, value).await
            }
            KubeObject::Deployment(deployment) => {
                let template = deployment
                    .spec
                    .as_ref()
                    .map(|s| s.template.clone())
                    .unwrap_or_default();
                let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": template.metadata.unwrap_or_default(), "spec": template.spec});
                pod["metadata"]["name"] = json!(format!("{}-0", object.name()));
                self.create_pod(&namespace, pod).await
            }
        }
    }

    async fn delete(&mut self, object: &ObjectRef) -> Result<(), KubeError> {
        let key = Self::key(object.namespace(), &object.name);
        match object.kind.as_str() {
            "Pod" => {
                self.kubelet.tokens.remove(&key);
                self.pods
                    .remove(&key)
                    .map(|_| ())
                    .ok_or_else(|| KubeError::not_found("pods", &object.name))
            }
            "ServiceAccount" => {
                self.webhook.sources.remove_service_account(&key.0, &key.1);
                self.service_accounts
                    .remove(&key)
                    .map(|_| ())
                    .ok_or_else(|| KubeError::not_found("serviceaccounts", &object.name))
            }
            "ConfigMap" => {
                self.config_maps.remove(&key);
                if object.name == "pod-identity-webhook" && key.0 == self.webhook.sources.namespace
                {
                    self.webhook.sources.set_configmap(None);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn pod(&self, namespace: &str, name: &str) -> Option<Pod> {
        kubelet::stored_pod(&self.pods, namespace, name)
    }

    fn container_env(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<BTreeMap<String, String>, KubeError> {
        kubelet::container_env(&self.pods, &self.config_maps, namespace, pod, container)
    }

    async fn read_file(
        &mut self,
        namespace: &str,
        pod: &str,
        container: &str,
        path: &str,
        fresh: bool,
    ) -> Result<TokenFile, KubeError> {
        let key = Self::key(namespace, pod);
        let (_, value) = self
            .pods
            .get(&key)
            .ok_or_else(|| KubeError::not_found("pods", pod))?;
        let slot = resolve_mount(value, container, path)?;
        if self.apiserver.version() < (1, 19) && kubelet::unreadable_by(value, container) {
            return Err(KubeError::new(
                "PermissionDenied",
                format!("open {path}: permission denied"),
            ));
        }
        if fresh && let Some(error) = self.mount_tokens(&key, true).into_iter().next() {
            return Err(error);
        }
        self.kubelet.file(&key, &slot, path)
    }

    async fn token_request(&mut self, request: &TokenRequest) -> Result<String, KubeError> {
        let sa_key = Self::key(&request.namespace, &request.service_account);
        let Some(sa_uid) = self.service_accounts.get(&sa_key).cloned() else {
            return Err(KubeError::not_found(
                "serviceaccounts",
                &request.service_account,
            ));
        };
        let binding = match &request.bound_pod {
            None => None,
            Some(pod) => {
                let (pod_uid, _) = self
                    .pods
                    .get(&Self::key(&request.namespace, pod))
                    .ok_or_else(|| KubeError::not_found("pods", pod))?;
                Some(Binding {
                    pod: ClaimRef::new(pod, pod_uid),
                    node: Some(ClaimRef::new(NODE, &self.node_uid)),
                })
            }
        };
        self.apiserver.issue(request, &sa_uid, binding.as_ref())
    }

    async fn discovery_documents(&self) -> Result<(String, String), KubeError> {
        Ok(self.apiserver.documents())
    }

    fn discovery_endpoint(&self) -> Option<(String, String)> {
        Some(self.apiserver.endpoint())
    }

    async fn reconfigure(&mut self, cluster: &ClusterState) -> Result<(), BackendError> {
        self.apiserver.reconfigure(cluster);
        Ok(())
    }

    async fn time_passed(&mut self) {
        let _ = self.clock.now();
        let keys: Vec<Key> = self.pods.keys().cloned().collect();
        for key in keys {
            self.mount_tokens(&key, false);
        }
    }

    async fn stop(self) {
        self.webhook.stop().await;
        self.apiserver.stop().await;
    }
}
