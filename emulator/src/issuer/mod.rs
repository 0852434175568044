//! What an OIDC issuer holds and publishes: key pairs, the `kid` kube-apiserver derives,
//! JWKS and discovery documents, and tokens shaped exactly like kube-apiserver's.

mod discovery;
mod error;
mod expiration;
mod jwk;
mod jwks;
mod key_algorithm;
mod pem;
mod private_key;
mod public_key;
mod token;

pub use crate::jwt::JwsAlgorithm;
pub use discovery::DiscoveryDocument;
pub use error::KeyError;
pub use expiration::{
    EXPIRATION_EXTENSION_SECONDS, ExtendedExpiration, WARN_ONLY_EXPIRATION_SECONDS,
    extend_expiration,
};
pub use jwk::{Jwk, JwkSet};
pub use jwks::jwks;
pub use key_algorithm::{KeyAlgorithm, UnknownKeyAlgorithm};
pub use private_key::PrivateKey;
pub use public_key::PublicKey;
pub(crate) use public_key::PublicKeyInner;
pub use token::{
    BoundTokenRequest, KidMode, LEGACY_ISSUER, LegacyTokenRequest, ObjectRef, header_for,
    sign_bound_token, sign_hs256, sign_legacy_token, sign_raw, sign_raw_json,
};
