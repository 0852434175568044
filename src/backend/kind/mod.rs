//! The `kind` backend: a real kind cluster (one per run, see [`cluster`]) with every part
//! real: kubeadm's static-pod kube-apiserver with the scenario's flags ([`apiserver`]), our
//! webhook deployed in the cluster from `webhook/deploy` ([`webhook`]), the scheduler and
//! controllers, and the kubelet projecting the tokens the harness then reads from inside
//! the container ([`pods`]). The fake AWS stays in the runner's process, as on every
//! backend; the kind tier's smoke test (`.ci/kind-smoke`) shows a pod reaching it through
//! the kind network too.
//!
//! What a scenario's objects leave behind is deleted when the scenario ends; the cluster,
//! its apiserver flags and the webhook stay for the next scenario, which changes only what
//! differs.

pub mod apiserver;
pub mod cluster;
pub mod command;
pub mod components;
pub mod pods;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use irsa_emulator::clock::ManualClock;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use self::cluster::KindCluster;
use super::control_plane::api;
use super::control_plane::limits;
use super::control_plane::sync::WatchBarrier;
use super::kubelet::{self, resolve_mount};
use super::real_clock;
use super::{
    Backend, BackendContext, BackendError, ClusterState, KubeError, TokenFile, TokenRequest,
};
use crate::scenario::Step;
use crate::scenario::kube::{KubeObject, ObjectRef};
use crate::scenario::limits::BackendKind;

type Key = (String, String);

/// Scenarios with equal keys start from the same apiserver and webhook flags: run one after
/// the other, they share one apiserver restart and one webhook rollout (each costs tens
/// of seconds on a kind node; the objects themselves take about a second).
pub fn setup_key(scenario: &crate::scenario::LoadedScenario) -> String {
    serde_json::to_string(&(&scenario.scenario.cluster, &scenario.scenario.webhook))
        .unwrap_or_default()
}

/// Namespaces that belong to the cluster, never deleted at a scenario's end.
const SYSTEM_NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    webhook::NAMESPACE,
];

/// A scenario's pod: the name it has in the cluster (a Deployment's pod has a generated
/// one), and the object as the user applied it (recreated for a fresh token).
#[derive(Debug, Clone)]
struct Applied {
    name: String,
    object: Value,
}

/// One scenario on the run's kind cluster.
pub struct KindBackend {
    cluster: KindCluster,
    client: kube::Client,
    barrier: Option<WatchBarrier>,
    clock: Arc<ManualClock>,
    /// Stored pods (after admission, with the images as written) with their uid.
    pods: kubelet::Pods,
    applied: BTreeMap<Key, Applied>,
    config_maps: kubelet::ConfigMaps,
    /// Why the kubelet did not start a pod (shown when its files are read).
    not_started: BTreeMap<Key, String>,
    /// What this scenario created, deleted at its end: (kind, namespace, name).
    created: BTreeSet<(String, String, String)>,
    namespaces: BTreeSet<String>,
    webhook_namespace: String,
    watch_config_map: bool,
    /// The apiserver restarted in this scenario while its pods ran: the kubelet's watch
    /// reconnects with backoff, and is restarted before the next pod once none runs.
    kubelet_behind: bool,
}

impl std::fmt::Debug for KindBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindBackend")
            .field("cluster", &self.cluster.name)
            .finish_non_exhaustive()
    }
}

fn failed(component: &'static str) -> impl FnOnce(anyhow::Error) -> BackendError {
    move |source| BackendError::Start { component, source }
}

fn key(namespace: &str, name: &str) -> Key {
    (namespace.to_owned(), name.to_owned())
}

impl KindBackend {
    async fn ensure_namespace(&mut self, namespace: &str) -> Result<(), KubeError> {
        if self.namespaces.contains(namespace) {
            return Ok(());
        }
        let existed = api::get(&self.client, "Namespace", None, namespace)
            .await
            .is_ok();
        // The service-account controller runs here, but not before the first apply: the
        // harness makes `default` as a user would find it.
        api::ensure_namespace(&self.client, namespace).await?;
        if !existed {
            self.created
                .insert(("Namespace".into(), String::new(), namespace.to_owned()));
        }
        self.namespaces.insert(namespace.to_owned());
        Ok(())
    }

    async fn sync_webhook(&mut self) -> Result<(), KubeError> {
        let Some(barrier) = &mut self.barrier else {
            return Ok(());
        };
        let began = std::time::Instant::now();
        barrier.wait(&self.client).await?;
        tracing::info!(
            seconds = began.elapsed().as_secs_f32(),
            "the webhook has seen every ServiceAccount change"
        );
        Ok(())
    }

    /// Creates the pod (admission calls the webhook), waits for the kubelet to start it,
    /// and keeps the stored pod as written.
    async fn start_pod(
        &mut self,
        namespace: &str,
        object: Value,
    ) -> Result<Option<Pod>, KubeError> {
        if self.kubelet_behind && !self.any_pod_runs().await? {
            components::restart_kubelet(&self.cluster)
                .await
                .map_err(|e| KubeError::new("InternalError", format!("{e:#}")))?;
            self.kubelet_behind = false;
        }
        let created = api::create(
            &self.client,
            "Pod",
            Some(namespace),
            pods::runnable(&object, &self.cluster.node),
        )
        .await?;
        let name = created["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.created
            .insert(("Pod".into(), namespace.to_owned(), name.clone()));
        // A pod the kubelet cannot start is still stored; reading its files says why.
        let began = std::time::Instant::now();
        let mut stored = match pods::wait_started(&self.client, namespace, &name).await {
            Ok(pod) => {
                tracing::info!(
                    seconds = began.elapsed().as_secs_f32(),
                    "pod {namespace}/{name} started"
                );
                pod
            }
            Err(why) => {
                self.not_started.insert(key(namespace, &name), why);
                api::get(&self.client, "Pod", Some(namespace), &name).await?
            }
        };
        pods::restore(&mut stored, &object);
        self.remember(namespace, &name, &name, stored.clone(), object);
        serde_json::from_value(stored).map(Some).map_err(|e| {
            KubeError::new(
                "InternalError",
                format!("the stored pod does not parse: {e}"),
            )
        })
    }

    fn remember(&mut self, namespace: &str, alias: &str, name: &str, stored: Value, object: Value) {
        let uid = stored["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let k = key(namespace, alias);
        self.pods.insert(k.clone(), (uid, stored));
        self.applied.insert(
            k,
            Applied {
                name: name.to_owned(),
                object,
            },
        );
    }

    /// A Deployment's pod, made by the real ReplicaSet controller, known by the name the
    /// emulated backend gives it (`NAME-0`).
    async fn deployment_pod(
        &mut self,
        namespace: &str,
        deployment: &Value,
    ) -> Result<Option<Pod>, KubeError> {
        let name = deployment["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let labels = deployment["spec"]["selector"]["matchLabels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let pods_api: kube::Api<kube::api::DynamicObject> =
            kube::Api::namespaced_with(self.client.clone(), namespace, &api::resource("Pod"));
        let began = std::time::Instant::now();
        let real = loop {
            let list = pods_api
                .list(&kube::api::ListParams::default().labels(&labels))
                .await
                .map_err(api::refusal)?;
            if let Some(pod) = list.items.into_iter().next() {
                break pod.metadata.name.unwrap_or_default();
            }
            if began.elapsed() > std::time::Duration::from_secs(60) {
                return Err(KubeError::new(
                    "Timeout",
                    format!("Deployment {name} made no pod within 60 s"),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        let template = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": deployment["spec"]["template"]["metadata"],
            "spec": deployment["spec"]["template"]["spec"],
        });
        let mut stored = match pods::wait_started(&self.client, namespace, &real).await {
            Ok(pod) => pod,
            Err(why) => return Err(KubeError::new("Timeout", why)),
        };
        pods::restore(&mut stored, &template);
        let alias = format!("{name}-0");
        stored["metadata"]["name"] = json!(alias);
        self.remember(namespace, &alias, &real, stored.clone(), template);
        serde_json::from_value(stored).map(Some).map_err(|e| {
            KubeError::new(
                "InternalError",
                format!("the stored pod does not parse: {e}"),
            )
        })
    }

    /// Whether a pod runs in a namespace of the scenario (a kubelet restart would give it
    /// new tokens).
    async fn any_pod_runs(&self) -> Result<bool, KubeError> {
        for namespace in &self.namespaces {
            let pods: kube::Api<kube::api::DynamicObject> =
                kube::Api::namespaced_with(self.client.clone(), namespace, &api::resource("Pod"));
            let list = pods
                .list(&Default::default())
                .await
                .map_err(|e| KubeError::new("InternalError", format!("listing pods: {e}")))?;
            if !list.items.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A restarted pod: deleted, gone, created again from what was applied (the kubelet of
    /// the new pod fetches new tokens; a real kubelet cannot be told to refresh).
    async fn restart_pod(&mut self, k: &Key) -> Result<(), KubeError> {
        let Some(applied) = self.applied.get(k).cloned() else {
            return Err(KubeError::not_found("pods", &k.1));
        };
        if applied.name != k.1 {
            return Err(KubeError::new(
                "Invalid",
                format!(
                    "pod {} belongs to a Deployment: its controller, not the harness, restarts it",
                    k.1
                ),
            ));
        }
        api::delete(&self.client, "Pod", &k.0, &k.1).await?;
        pods::wait_gone(&self.client, "Pod", Some(&k.0), &k.1).await?;
        self.start_pod(&k.0, applied.object).await?;
        Ok(())
    }

    /// Deletes what this scenario made, pods first, and waits until it is gone (the next
    /// scenario reuses the names).
    async fn clean_up(&mut self) {
        let created = std::mem::take(&mut self.created);
        for kind in ["Pod", "Deployment", "ConfigMap", "ServiceAccount"] {
            for (_, namespace, name) in created.iter().filter(|(k, ..)| k == kind) {
                let _ = api::delete(&self.client, kind, namespace, name).await;
                if kind == "Pod" {
                    let _ = pods::wait_gone(&self.client, "Pod", Some(namespace), name).await;
                }
            }
        }
        let namespaces: kube::Api<kube::api::DynamicObject> =
            kube::Api::all_with(self.client.clone(), &api::resource("Namespace"));
        for (_, _, name) in created.iter().filter(|(k, ..)| k == "Namespace") {
            if !SYSTEM_NAMESPACES.contains(&name.as_str()) {
                let _ = namespaces.delete(name, &Default::default()).await;
                let _ = pods::wait_gone(&self.client, "Namespace", None, name).await;
            }
        }
    }
}

impl Backend for KindBackend {
    const KIND: BackendKind = BackendKind::Kind;

    fn cannot_start(cluster: &ClusterState) -> Option<String> {
        limits::cannot_start(cluster)
    }

    fn cannot_play(&self, step: &Step, _cluster: &ClusterState) -> Option<String> {
        limits::cannot_play(step)
    }

    async fn start(cluster: &ClusterState, context: BackendContext) -> Result<Self, BackendError> {
        let kind = cluster::current().ok_or_else(|| {
            failed("the kind cluster")(anyhow::anyhow!(
                "no kind cluster is open for this run (`irsa-lab run --backend kind` opens one; in code, call backend::kind::cluster::open first)"
            ))
        })?;
        let flags = {
            let mut args = vec!["pod-identity-webhook".to_owned()];
            args.extend(context.webhook.flags.iter().cloned());
            <pod_identity_webhook::flags::Cli as clap::Parser>::try_parse_from(&args)
                .map_err(|e| BackendError::WebhookFlags(e.to_string()))?
                .flags
        };
        let client = kind
            .client()
            .await
            .map_err(failed("the Kubernetes client"))?;
        // No scenario pod runs yet: every client may start afresh, the kubelet too.
        if let Some(restarted) = apiserver::configure(&kind, &client, cluster)
            .await
            .map_err(failed("kube-apiserver (static pod)"))?
        {
            let which = components::Reconnect::after(&restarted, false);
            components::reconnect(&kind, &client, &restarted.hash, which)
                .await
                .map_err(failed(
                    "the cluster's components after the apiserver restart",
                ))?;
        }
        let began = std::time::Instant::now();
        webhook::deploy(&client, &context.webhook, &kind.node)
            .await
            .map_err(failed("the webhook (in-cluster)"))?;
        tracing::info!(
            seconds = began.elapsed().as_secs_f32(),
            "the webhook is deployed as the scenario has it"
        );
        let reachable = context.webhook.running
            && context.webhook.registered
            && context.webhook.ca_bundle_matches;
        let mut backend = Self {
            cluster: kind,
            client,
            barrier: reachable.then(|| WatchBarrier::through_apiserver(&flags.annotation_prefix)),
            clock: context.clock.clone(),
            pods: BTreeMap::new(),
            applied: BTreeMap::new(),
            config_maps: BTreeMap::new(),
            not_started: BTreeMap::new(),
            created: BTreeSet::new(),
            namespaces: BTreeSet::new(),
            webhook_namespace: flags.namespace.clone(),
            watch_config_map: flags.watch_config_map,
            kubelet_behind: false,
        };
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
        // A real cluster's tokens carry the real time: the scenario starts now.
        context.clock.set(time::OffsetDateTime::UNIX_EPOCH);
        real_clock::catch_up(&context.clock);
        Ok(backend)
    }

    async fn apply(&mut self, object: &KubeObject) -> Result<Option<Pod>, KubeError> {
        let namespace = object.namespace().to_owned();
        self.ensure_namespace(&namespace).await?;
        let mut value = object
            .to_value()
            .map_err(|e| KubeError::new("Invalid", e.to_string()))?;
        value["metadata"]["namespace"] = json!(namespace);
        let kind = value["kind"].as_str().unwrap_or_default().to_owned();
        match object {
            KubeObject::ServiceAccount(_) | KubeObject::ConfigMap(_) => {
                let existed = api::get(&self.client, &kind, Some(&namespace), object.name())
                    .await
                    .is_ok();
                api::apply(&self.client, &kind, Some(&namespace), value).await?;
                if !existed {
                    self.created.insert((
                        kind.clone(),
                        namespace.clone(),
                        object.name().to_owned(),
                    ));
                }
                if let KubeObject::ConfigMap(cm) = object {
                    self.config_maps.insert(
                        key(&namespace, object.name()),
                        cm.data.clone().unwrap_or_default(),
                    );
                    if self.watch_config_map && namespace == self.webhook_namespace {
                        // The ConfigMap has its own watch: no marker orders it.
                        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                    }
                } else {
                    self.sync_webhook().await?;
                }
                Ok(None)
            }
            KubeObject::Pod(_) => self.start_pod(&namespace, value).await,
            KubeObject::Deployment(_) => {
                let mut runnable = value.clone();
                runnable["spec"]["template"] =
                    pods::runnable(&value["spec"]["template"], &self.cluster.node);
                api::apply(&self.client, "Deployment", Some(&namespace), runnable).await?;
                self.created.insert((
                    "Deployment".into(),
                    namespace.clone(),
                    object.name().to_owned(),
                ));
                self.deployment_pod(&namespace, &value).await
            }
        }
    }

    async fn delete(&mut self, object: &ObjectRef) -> Result<(), KubeError> {
        let namespace = object.namespace();
        let k = key(namespace, &object.name);
        let real = self
            .applied
            .get(&k)
            .map_or_else(|| object.name.clone(), |a| a.name.clone());
        api::delete(&self.client, &object.kind, namespace, &real).await?;
        match object.kind.as_str() {
            "Pod" => {
                pods::wait_gone(&self.client, "Pod", Some(namespace), &real).await?;
                self.pods.remove(&k);
                self.applied.remove(&k);
            }
            "ServiceAccount" => self.sync_webhook().await?,
            "ConfigMap" => {
                self.config_maps.remove(&k);
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
        let k = key(namespace, pod);
        let (_, value) = self
            .pods
            .get(&k)
            .ok_or_else(|| KubeError::not_found("pods", pod))?;
        // A path no volume covers is the same error on every backend.
        resolve_mount(value, container, path)?;
        if fresh {
            self.restart_pod(&k).await?;
        }
        let real = self
            .applied
            .get(&k)
            .map_or(pod.to_owned(), |a| a.name.clone());
        let token = pods::read_file(&self.cluster, namespace, &real, container, path)
            .await
            .map_err(|mut e| {
                if let Some(why) = self.not_started.get(&k) {
                    e.message = format!("{} (the pod never started: {why})", e.message);
                }
                e
            })?;
        let token = token.trim().to_owned();
        let issued_at = pods::issued_at(&token).ok_or_else(|| {
            KubeError::new("InternalError", format!("{path} in pod {pod} holds no JWT"))
        })?;
        Ok(TokenFile { token, issued_at })
    }

    async fn token_request(&mut self, request: &TokenRequest) -> Result<String, KubeError> {
        let bound = match &request.bound_pod {
            None => None,
            Some(pod) => {
                let k = key(&request.namespace, pod);
                let (uid, _) = self
                    .pods
                    .get(&k)
                    .ok_or_else(|| KubeError::not_found("pods", pod))?;
                let real = self.applied.get(&k).map_or(pod.clone(), |a| a.name.clone());
                Some((real, uid.clone()))
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
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.cluster.kubeconfig).ok()?;
        let cluster = kubeconfig.clusters.first()?.cluster.clone()?;
        let ca = cluster.certificate_authority_data?;
        use base64::Engine;
        let pem = base64::engine::general_purpose::STANDARD.decode(ca).ok()?;
        Some((cluster.server?, String::from_utf8(pem).ok()?))
    }

    async fn reconfigure(&mut self, cluster: &ClusterState) -> Result<(), BackendError> {
        // The scenario's pods run: a kubelet restart now would give them new tokens, which
        // no real apiserver change does. It waits for the next pod (see `start_pod`).
        if let Some(restarted) = apiserver::configure(&self.cluster, &self.client, cluster)
            .await
            .map_err(failed("kube-apiserver (static pod)"))?
        {
            let which = components::Reconnect::after(&restarted, true);
            components::reconnect(&self.cluster, &self.client, &restarted.hash, which)
                .await
                .map_err(failed(
                    "the cluster's components after the apiserver restart",
                ))?;
            self.kubelet_behind = restarted.signs_with_kubeadm_key;
        }
        api::set_anonymous_discovery(&self.client, cluster.anonymous_discovery)
            .await
            .map_err(|e| failed("the discovery binding")(e.into()))
    }

    async fn step_begins(&mut self) {
        real_clock::catch_up(&self.clock);
    }

    async fn time_passed(&mut self) {
        // The kubelet refreshes on its own schedule; a short advance is waited out for real.
        real_clock::wait_for(&self.clock).await;
    }

    async fn stop(mut self) {
        self.clean_up().await;
    }
}
