//! Who a pod is to AWS: the ServiceAccount's annotations, the ConfigMap, and the
//! container-credentials file, combined by the reference's precedence rules.

mod configmap;
mod container_credentials;
mod resolve;
mod sources;

pub use configmap::{ConfigMapEntry, ConfigMapIdentities};
pub use container_credentials::ContainerCredentialsIdentities;
pub use resolve::{Identity, Subject, resolve};
pub use sources::{IdentitySources, ServiceAccountInfo, StaticSources};
