//! The `control-plane` backend: real etcd and kube-apiserver processes (built from source by
//! `tools/build-kube`), our webhook binary called by the apiserver through a
//! MutatingWebhookConfiguration, and the harness in the roles of the controllers and the
//! kubelet that are not running: it creates namespaces' `default` ServiceAccount, binds pods
//! to a node, and asks the TokenRequest API for each projected token of the admitted pod.
//! The fake AWS and the workload client are the emulated backend's.

pub mod api;
pub mod apiserver;
pub mod binaries;
pub mod limits;
pub mod process;
pub mod sync;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use irsa_emulator::clock::{Clock, ManualClock};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use self::apiserver::ControlPlane;
use self::binaries::Binaries;
use self::sync::WatchBarrier;
use self::webhook::OutOfClusterWebhook;
use super::kubelet::{self, Kubelet, resolve_mount};
use super::real_clock;
use super::{
    Backend, BackendContext, BackendError, ClusterState, KubeError, TokenFile, TokenRequest,
};
use crate::scenario::Step;
use crate::scenario::kube::{KubeObject, ObjectRef};
use crate::scenario::limits::BackendKind;

type Key = (String, String);

/// A real control plane for one scenario.
pub struct ControlPlaneBackend {
    plane: ControlPlane,
    webhook: OutOfClusterWebhook,
    barrier: Option<WatchBarrier>,
    client: kube::Client,
    kubelet: Kubelet,
    clock: Arc<ManualClock>,
    /// Stored pods (after admission and binding) with their uid.
    pods: kubelet::Pods,
    /// ConfigMaps' `data` as applied.
    config_maps: kubelet::ConfigMaps,
    namespaces: BTreeSet<String>,
    /// `--namespace` of the webhook, where it watches its ConfigMap.
    webhook_namespace: String,
    watch_config_map: bool,
}

impl std::fmt::Debug for ControlPlaneBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlaneBackend")
            .field("apiserver", &self.plane.url())
            .field("webhook_port", &self.webhook.port)
            .finish_non_exhaustive()
    }
}

fn failed(component: &'static str) -> impl FnOnce(anyhow::Error) -> BackendError {
    move |source| BackendError::Start { component, source }
}

impl ControlPlaneBackend {
    fn key(namespace: &str, name: &str) -> Key {
        (namespace.to_owned(), name.to_owned())
    }

    /// What the namespace and service-account controllers would have done before a user
    /// applies objects there.
    async fn ensure_namespace(&mut self, namespace: &str) -> Result<(), KubeError> {
        if self.namespaces.contains(namespace) {
            return Ok(());
        }
        api::ensure_namespace(&self.client, namespace).await?;
        self.namespaces.insert(namespace.to_owned());
        Ok(())
    }

    async fn sync_webhook(&mut self) -> Result<(), KubeError> {
        match &mut self.barrier {
            Some(barrier) => barrier.wait(&self.client).await,
            None => Ok(()),
        }
    }

    /// Creates the pod (the apiserver calls the webhook), binds it to the node as the
    /// scheduler would, and has the kubelet fetch its tokens.
    async fn create_pod(&mut self, namespace: &str, pod: Value) -> Result<Option<Pod>, KubeError> {
        let created = api::create(&self.client, "Pod", Some(namespace), pod).await?;
        let name = created["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        api::bind(&self.client, namespace, &name).await?;
        let stored = api::get(&self.client, "Pod", Some(namespace), &name).await?;
        let uid = stored["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let key = Self::key(namespace, &name);
        self.pods.insert(key.clone(), (uid, stored.clone()));
        // The kubelet mounts the volumes as it starts the pod; a failure shows when read.
        let _ = self.mount_tokens(&key, false).await;
        serde_json::from_value(stored).map(Some).map_err(|e| {
            KubeError::new(
                "InternalError",
                format!("the stored pod does not parse: {e}"),
            )
        })
    }

    /// The kubelet's TokenRequests for every projected token of the pod; `force` renews all.
    async fn mount_tokens(&mut self, key: &Key, force: bool) -> Vec<KubeError> {
        let Some((pod_uid, pod)) = self.pods.get(key).cloned() else {
            return Vec::new();
        };
        let sa = pod["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        let now = self.clock.now().unix_timestamp();
        let mut errors = Vec::new();
        for (slot, projection) in self.kubelet.due(key, &pod, now, force) {
            let audiences: Vec<String> = projection.audience.iter().cloned().collect();
            let issued = api::token(
                &self.client,
                &key.0,
                &sa,
                &audiences,
                projection.expiration_seconds,
                Some((&key.1, &pod_uid)),
            )
            .await;
            match issued {
                Ok(token) => self.kubelet.hold(key, slot, token, now),
                // On failure the kubelet keeps the old token.
                Err(error) => errors.push(error),
            }
        }
        errors
    }
}

impl Backend for ControlPlaneBackend {
    const KIND: BackendKind = BackendKind::ControlPlane;

    fn cannot_start(cluster: &ClusterState) -> Option<String> {
        limits::cannot_start(cluster)
    }

    fn cannot_play(&self, step: &Step, _cluster: &ClusterState) -> Option<String> {
        limits::cannot_play(step)
    }

    async fn start(cluster: &ClusterState, context: BackendContext) -> Result<Self, BackendError> {
        let binaries = Binaries::locate().map_err(|e| failed("the control plane")(e.into()))?;
        let webhook_binary = binaries.webhook.clone();
        let flags = {
            let mut args = vec!["pod-identity-webhook".to_owned()];
            args.extend(context.webhook.flags.iter().cloned());
            <pod_identity_webhook::flags::Cli as clap::Parser>::try_parse_from(&args)
                .map_err(|e| BackendError::WebhookFlags(e.to_string()))?
                .flags
        };
        // A real apiserver's tokens carry the real time: the scenario starts now.
        context.clock.set(time::OffsetDateTime::UNIX_EPOCH);
        real_clock::catch_up(&context.clock);
        let started: Result<Self, BackendError> = async {
            let plane = ControlPlane::start(cluster, binaries)
                .await
                .map_err(failed("etcd and kube-apiserver"))?;
            let client = plane
                .client()
                .await
                .map_err(failed("the Kubernetes client"))?;
            let setup: anyhow::Result<()> = async {
                let node =
                    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": api::NODE}});
                api::ensure(&client, "Node", None, node).await?;
                Ok(())
            }
            .await;
            setup.map_err(failed("the node"))?;
            let webhook =
                OutOfClusterWebhook::start(&plane, &webhook_binary, &context.webhook).await?;
            let barrier = if context.webhook.running {
                Some(
                    WatchBarrier::new(webhook.port, &webhook.ca_pem, &flags.annotation_prefix)
                        .map_err(failed("the webhook probe"))?,
                )
            } else {
                None
            };
            Ok(Self {
                plane,
                webhook,
                barrier,
                client,
                kubelet: Kubelet::default(),
                clock: context.clock.clone(),
                pods: BTreeMap::new(),
                config_maps: BTreeMap::new(),
                namespaces: BTreeSet::new(),
                webhook_namespace: flags.namespace.clone(),
                watch_config_map: flags.watch_config_map,
            })
        }
        .await;
        let mut backend = started?;
        let prepared: Result<(), KubeError> = async {
            backend.ensure_namespace("default").await?;
            api::set_anonymous_discovery(&backend.client, cluster.anonymous_discovery).await?;
            backend.sync_webhook().await
        }
        .await;
        if let Err(error) = prepared {
            backend.stop().await;
            return Err(failed("the cluster's first objects")(error.into()));
        }
        // The scenario starts once the cluster is up.
        real_clock::catch_up(&backend.clock);
        Ok(backend)
    }

    async fn apply(&mut self, object: &KubeObject) -> Result<Option<Pod>, KubeError> {
        let namespace = object.namespace().to_owned();
        self.ensure_namespace(&namespace).await?;
        let mut value = object
            .to_value()
            .map_err(|e| KubeError::new("Invalid", e.to_string()))?;
        value["metadata"]["namespace"] = json!(namespace);
        match object {
            KubeObject::ServiceAccount(_) => {
                api::apply(&self.client, "ServiceAccount", Some(&namespace), value).await?;
                self.sync_webhook().await?;
                Ok(None)
            }
            KubeObject::ConfigMap(cm) => {
                api::apply(&self.client, "ConfigMap", Some(&namespace), value).await?;
                self.config_maps.insert(
                    Self::key(&namespace, object.name()),
                    cm.data.clone().unwrap_or_default(),
                );
                if self.watch_config_map && namespace == self.webhook_namespace {
                    // The ConfigMap has its own watch: no marker orders it; give it a moment.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Ok(None)
            }
            KubeObject::Pod(_) => self.create_pod(&namespace, value).await,
            KubeObject::Deployment(deployment) => {
                api::apply(&self.client, "Deployment", Some(&namespace), value).await?;
                // What the ReplicaSet controller would create, named as the emulated one.
                let template = deployment
                    .spec
                    .as_ref()
                    .map(|s| s.template.clone())
                    .unwrap_or_default();
                let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": template.metadata.unwrap_or_default(), "spec": template.spec});
                pod["metadata"]["name"] = json!(format!("{}-0", object.name()));
                pod["metadata"]["namespace"] = json!(namespace);
                self.create_pod(&namespace, pod).await
            }
        }
    }

    async fn delete(&mut self, object: &ObjectRef) -> Result<(), KubeError> {
        let namespace = object.namespace();
        let key = Self::key(namespace, &object.name);
        api::delete(&self.client, &object.kind, namespace, &object.name).await?;
        match object.kind.as_str() {
            "Pod" => {
                self.kubelet.tokens.remove(&key);
                self.pods.remove(&key);
            }
            "ServiceAccount" => self.sync_webhook().await?,
            "ConfigMap" => {
                self.config_maps.remove(&key);
            }
            _ => {}
        }
        Ok(())
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
        let errors = self.mount_tokens(&key, fresh).await;
        if fresh && let Some(error) = errors.into_iter().next() {
            return Err(error);
        }
        self.kubelet.file(&key, &slot, path)
    }

    async fn token_request(&mut self, request: &TokenRequest) -> Result<String, KubeError> {
        let bound = match &request.bound_pod {
            None => None,
            Some(pod) => {
                let (uid, _) = self
                    .pods
                    .get(&Self::key(&request.namespace, pod))
                    .ok_or_else(|| KubeError::not_found("pods", pod))?;
                Some((pod.clone(), uid.clone()))
            }
        };
        api::token(
            &self.client,
            &request.namespace,
            &request.service_account,
            &request.audiences,
            request.expiration_seconds,
            bound
                .as_ref()
                .map(|(name, uid)| (name.as_str(), uid.as_str())),
        )
        .await
    }

    async fn discovery_documents(&self) -> Result<(String, String), KubeError> {
        api::discovery_documents(&self.client).await
    }

    fn discovery_endpoint(&self) -> Option<(String, String)> {
        Some((self.plane.url(), self.plane.ca_pem().to_owned()))
    }

    async fn reconfigure(&mut self, cluster: &ClusterState) -> Result<(), BackendError> {
        self.plane
            .restart(cluster)
            .await
            .map_err(failed("kube-apiserver (restart)"))?;
        api::set_anonymous_discovery(&self.client, cluster.anonymous_discovery)
            .await
            .map_err(|e| failed("the discovery binding")(e.into()))
    }

    async fn step_begins(&mut self) {
        real_clock::catch_up(&self.clock);
    }

    async fn time_passed(&mut self) {
        // A short advance is waited out for real, so the apiserver's clock is where the
        // scenario's is.
        real_clock::wait_for(&self.clock).await;
        let keys: Vec<Key> = self.pods.keys().cloned().collect();
        for key in keys {
            let _ = self.mount_tokens(&key, false).await;
        }
    }

    async fn stop(self) {
        self.webhook.stop().await;
        self.plane.stop().await;
    }
}
