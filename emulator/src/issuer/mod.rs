//! What an OIDC issuer holds and publishes: key pairs, the `kid` kube-apiserver derives,
//! JWKS and discovery documents, and tokens shaped exactly like kube-apiserver's.

mod algorithm;
mod discovery;
mod jwk;
mod keys;
mod token;

pub use algorithm::{JwsAlgorithm, KeyAlgorithm};
pub use discovery::{DiscoveryDocument, jwks};
pub use jwk::{Jwk, JwkSet};
pub use keys::{KeyError, PrivateKey, PublicKey};
pub use token::{
    BoundTokenRequest, KidMode, ObjectRef, extended_expiration, header_for, sign_bound_token,
    sign_hs256, sign_legacy_token, sign_raw,
};

#[cfg(test)]
mod tests;
