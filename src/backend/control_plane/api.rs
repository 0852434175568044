//! The Kubernetes API calls the harness makes as a user (`kubectl apply`), as the
//! controllers that are not running (namespaces' `default` ServiceAccount, the scheduler's
//! binding, a Deployment's pod) and as the kubelet (TokenRequest for projected volumes).
//! Refusals come back as kube's own reason and message.

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use crate::backend::KubeError;

/// The node every pod is bound to (there is no kubelet behind it).
pub const NODE: &str = "node-1";

/// A client from a kubeconfig file, with bounded connects and reads (a restarting apiserver
/// must not hang a step).
pub async fn client_from(kubeconfig: &std::path::Path) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    config.read_timeout = Some(std::time::Duration::from_secs(30));
    config.connect_timeout = Some(std::time::Duration::from_secs(10));
    Ok(pod_identity_webhook::sources::kube_client::build(config)?)
}

/// kube's refusal as a step outcome.
pub fn refusal(error: kube::Error) -> KubeError {
    match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                "InternalError".to_owned()
            } else {
                status.reason.clone()
            };
            KubeError::new(&reason, status.message.clone())
        }
        other => KubeError::new("InternalError", format!("calling kube-apiserver: {other}")),
    }
}

/// The API resource of a kind the harness handles.
pub fn resource(kind: &str) -> ApiResource {
    let (group, version, plural) = match kind {
        "ServiceAccount" => ("", "v1", "serviceaccounts"),
        "ConfigMap" => ("", "v1", "configmaps"),
        "Pod" => ("", "v1", "pods"),
        "Namespace" => ("", "v1", "namespaces"),
        "Node" => ("", "v1", "nodes"),
        "Deployment" => ("apps", "v1", "deployments"),
        "ClusterRoleBinding" => ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"),
        "ClusterRole" => ("rbac.authorization.k8s.io", "v1", "clusterroles"),
        "Role" => ("rbac.authorization.k8s.io", "v1", "roles"),
        "RoleBinding" => ("rbac.authorization.k8s.io", "v1", "rolebindings"),
        "Service" => ("", "v1", "services"),
        "Secret" => ("", "v1", "secrets"),
        "EndpointSlice" => ("discovery.k8s.io", "v1", "endpointslices"),
        "MutatingWebhookConfiguration" => (
            "admissionregistration.k8s.io",
            "v1",
            "mutatingwebhookconfigurations",
        ),
        other => ("", "v1", other),
    };
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn api(client: &kube::Client, kind: &str, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = resource(kind);
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

fn dynamic(value: Value) -> Result<DynamicObject, KubeError> {
    serde_json::from_value(value).map_err(|e| KubeError::new("Invalid", e.to_string()))
}

fn value(object: DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// `kubectl apply --server-side --force-conflicts`: create or update.
pub async fn apply(
    client: &kube::Client,
    kind: &str,
    namespace: Option<&str>,
    object: Value,
) -> Result<Value, KubeError> {
    let object = dynamic(object)?;
    let name = object.metadata.name.clone().unwrap_or_default();
    api(client, kind, namespace)
        .patch(
            &name,
            &PatchParams::apply("irsa-lab").force(),
            &Patch::Apply(&object),
        )
        .await
        .map(value)
        .map_err(refusal)
}

/// `kubectl create`: fails with AlreadyExists when present.
pub async fn create(
    client: &kube::Client,
    kind: &str,
    namespace: Option<&str>,
    object: Value,
) -> Result<Value, KubeError> {
    api(client, kind, namespace)
        .create(&PostParams::default(), &dynamic(object)?)
        .await
        .map(value)
        .map_err(refusal)
}

/// Creates it unless it exists.
pub async fn ensure(
    client: &kube::Client,
    kind: &str,
    namespace: Option<&str>,
    object: Value,
) -> Result<(), KubeError> {
    match create(client, kind, namespace, object).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == "AlreadyExists" => Ok(()),
        Err(e) => Err(e),
    }
}

pub async fn get(
    client: &kube::Client,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<Value, KubeError> {
    api(client, kind, namespace)
        .get(name)
        .await
        .map(value)
        .map_err(refusal)
}

/// `kubectl delete --grace-period=0`: with no kubelet, a graceful pod deletion would
/// wait forever.
pub async fn delete(
    client: &kube::Client,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<(), KubeError> {
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    api(client, kind, Some(namespace))
        .delete(name, &params)
        .await
        .map(|_| ())
        .map_err(refusal)
}

/// What the scheduler does: binds the pod to [`NODE`].
pub async fn bind(client: &kube::Client, namespace: &str, pod: &str) -> Result<(), KubeError> {
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": pod, "namespace": namespace},
        "target": {"apiVersion": "v1", "kind": "Node", "name": NODE},
    });
    let pods: Api<DynamicObject> = api(client, "Pod", Some(namespace));
    pods.create_subresource::<Value, Value>("binding", pod, &PostParams::default(), &binding)
        .await
        .map(|_| ())
        .map_err(refusal)
}

/// The TokenRequest API (`kubectl create token`, or the kubelet for a projected volume).
pub async fn token(
    client: &kube::Client,
    namespace: &str,
    service_account: &str,
    audiences: &[String],
    expiration_seconds: Option<i64>,
    bound_pod: Option<(&str, &str)>,
) -> Result<String, KubeError> {
    let mut spec = json!({"audiences": audiences});
    if let Some(seconds) = expiration_seconds {
        spec["expirationSeconds"] = json!(seconds);
    }
    if let Some((name, uid)) = bound_pod {
        spec["boundObjectRef"] =
            json!({"kind": "Pod", "apiVersion": "v1", "name": name, "uid": uid});
    }
    let request =
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec});
    let accounts: Api<DynamicObject> = api(client, "ServiceAccount", Some(namespace));
    let answer: Value = accounts
        .create_subresource("token", service_account, &PostParams::default(), &request)
        .await
        .map_err(refusal)?;
    answer["status"]["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            KubeError::new(
                "InternalError",
                "the TokenRequest answer has no status.token",
            )
        })
}

/// A GET of a non-resource path, as text.
pub async fn raw(client: &kube::Client, path: &str) -> Result<String, KubeError> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| KubeError::new("InternalError", e.to_string()))?;
    client.request_text(request).await.map_err(refusal)
}

/// A namespace and its `default` ServiceAccount, as the namespace and service-account
/// controllers make them before a user applies objects there.
pub async fn ensure_namespace(client: &kube::Client, namespace: &str) -> Result<(), KubeError> {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    ensure(client, "Namespace", None, ns).await?;
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}});
    ensure(client, "ServiceAccount", Some(namespace), sa).await
}

/// The ClusterRoleBinding that lets anonymous readers fetch the discovery documents.
const ANONYMOUS_DISCOVERY: &str = "service-account-issuer-discovery-unauthenticated";

/// Binds (or unbinds) the discovery ClusterRole to anonymous readers.
pub async fn set_anonymous_discovery(client: &kube::Client, on: bool) -> Result<(), KubeError> {
    if on {
        let binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": ANONYMOUS_DISCOVERY},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:service-account-issuer-discovery"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:unauthenticated"}],
        });
        apply(client, "ClusterRoleBinding", None, binding).await?;
        return Ok(());
    }
    let params = DeleteParams::default();
    match api(client, "ClusterRoleBinding", None)
        .delete(ANONYMOUS_DISCOVERY, &params)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(other) => Err(refusal(other)),
    }
}

/// What the apiserver serves at `/.well-known/openid-configuration` and `/openid/v1/jwks`.
pub async fn discovery_documents(client: &kube::Client) -> Result<(String, String), KubeError> {
    let discovery = raw(client, "/.well-known/openid-configuration").await?;
    let jwks = raw(client, "/openid/v1/jwks").await?;
    Ok((discovery, jwks))
}
