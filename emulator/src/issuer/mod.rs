//! What an OIDC issuer holds and publishes: key pairs, the `kid` kube-apiserver derives,
//! JWKS and discovery documents, and tokens shaped exactly like kube-apiserver's.

mod jwk;

pub use jwk::{Jwk, JwkSet};
