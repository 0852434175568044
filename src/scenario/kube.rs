//! Kubernetes objects embedded in scenario files exactly as written for `kubectl apply`.
//!
//! The object's `kind` picks the k8s-openapi type, so a Pod is checked as a Pod (wrong
//! types and misspelled structure fail with the key path), while unknown fields are kept
//! out of the way the apiserver does: ignored by the typed model.

use std::borrow::Cow;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One Kubernetes object of a kind the scenarios use.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeObject {
    ServiceAccount(Box<ServiceAccount>),
    Pod(Box<Pod>),
    ConfigMap(Box<ConfigMap>),
    /// A Deployment stands for the one pod its template creates (named `<name>-0`).
    Deployment(Box<Deployment>),
}

/// The kinds a scenario may apply, as written in `kind:`.
pub const KINDS: [&str; 4] = ["ServiceAccount", "Pod", "ConfigMap", "Deployment"];

impl KubeObject {
    pub fn kind(&self) -> &'static str {
        match self {
            KubeObject::ServiceAccount(_) => "ServiceAccount",
            KubeObject::Pod(_) => "Pod",
            KubeObject::ConfigMap(_) => "ConfigMap",
            KubeObject::Deployment(_) => "Deployment",
        }
    }

    fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            KubeObject::ServiceAccount(o) => &o.metadata,
            KubeObject::Pod(o) => &o.metadata,
            KubeObject::ConfigMap(o) => &o.metadata,
            KubeObject::Deployment(o) => &o.metadata,
        }
    }

    /// `metadata.name` (empty when missing: the validator reports it).
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace`, `default` when absent (as kubectl applies it).
    pub fn namespace(&self) -> &str {
        self.metadata().namespace.as_deref().unwrap_or("default")
    }

    /// The object as JSON, `apiVersion` and `kind` included (what a client sends).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            KubeObject::ServiceAccount(o) => serde_json::to_value(o.as_ref()),
            KubeObject::Pod(o) => serde_json::to_value(o.as_ref()),
            KubeObject::ConfigMap(o) => serde_json::to_value(o.as_ref()),
            KubeObject::Deployment(o) => serde_json::to_value(o.as_ref()),
        }
    }
}

impl<'de> Deserialize<'de> for KubeObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| D::Error::custom("a Kubernetes object needs `kind` (one of ServiceAccount, Pod, ConfigMap, Deployment)"))?
            .to_owned();
        let api_version = value
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let expected = if kind == "Deployment" {
            "apps/v1"
        } else {
            "v1"
        };
        if api_version != expected {
            return Err(D::Error::custom(format!(
                "{kind} needs `apiVersion: {expected}` (found {api_version:?})"
            )));
        }
        fn typed<T: serde::de::DeserializeOwned, E: serde::de::Error>(
            kind: &str,
            value: serde_json::Value,
        ) -> Result<Box<T>, E> {
            serde_path_to_error::deserialize(value)
                .map(Box::new)
                .map_err(|e| E::custom(format!("invalid {kind}: at `{}`: {}", e.path(), e.inner())))
        }
        Ok(match kind.as_str() {
            "ServiceAccount" => KubeObject::ServiceAccount(typed(&kind, value)?),
            "Pod" => KubeObject::Pod(typed(&kind, value)?),
            "ConfigMap" => KubeObject::ConfigMap(typed(&kind, value)?),
            "Deployment" => KubeObject::Deployment(typed(&kind, value)?),
            other => {
                return Err(D::Error::custom(format!(
                    "unsupported kind {other:?}: scenarios apply {}",
                    KINDS.join(", ")
                )));
            }
        })
    }
}

impl Serialize for KubeObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            KubeObject::ServiceAccount(o) => o.serialize(serializer),
            KubeObject::Pod(o) => o.serialize(serializer),
            KubeObject::ConfigMap(o) => o.serialize(serializer),
            KubeObject::Deployment(o) => o.serialize(serializer),
        }
    }
}

impl JsonSchema for KubeObject {
    fn schema_name() -> Cow<'static, str> {
        "KubeObject".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let kinds = [
            generator.subschema_for::<ServiceAccount>(),
            generator.subschema_for::<Pod>(),
            generator.subschema_for::<ConfigMap>(),
            generator.subschema_for::<Deployment>(),
        ];
        json_schema!({
            "description": "A Kubernetes object as written for kubectl: ServiceAccount, Pod, ConfigMap (v1) or Deployment (apps/v1).",
            "anyOf": kinds,
        })
    }
}

/// Which object a `delete` step removes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectRef {
    /// ServiceAccount, Pod, ConfigMap or Deployment.
    pub kind: String,
    pub name: String,
    /// Default `default`.
    #[serde(default)]
    pub namespace: Option<String>,
}

impl ObjectRef {
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}
