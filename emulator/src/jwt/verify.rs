use crate::issuer::{Jwk, JwsAlgorithm, PublicKey};

use super::parse::UnverifiedToken;

/// RSA keys shorter than this are refused: AWS requires at least 2048-bit RSA keys for
/// identity providers, and kube-apiserver never signs with less.
pub const MIN_RSA_BITS: usize = 2048;

/// Why a signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("algorithm {0:?} is not accepted (only RS256/384/512 and ES256/384/512)")]
    UnsupportedAlgorithm(String),
    #[error("the JWK is for {jwk_kty} keys but the token is signed with {alg}")]
    KeyTypeMismatch { alg: String, jwk_kty: String },
    #[error("the JWK says alg {jwk_alg} but the token is signed with {alg}")]
    AlgMismatch { alg: String, jwk_alg: String },
    #[error("the JWK's \"use\" is {0:?}, not \"sig\"")]
    NotForSigning(String),
    #[error("the JWK is unusable: {0}")]
    BadKey(String),
    #[error("the RSA key has {0} bits; at least {MIN_RSA_BITS} are required")]
    KeyTooShort(usize),
    #[error("the signature does not verify with the JWK")]
    Invalid,
}

/// Checks `token`'s signature with `jwk`. The header's `alg` must be one of the six
/// accepted algorithms and must fit the key: an RSA JWK never verifies an ES token, and a
/// JWK that names its own `alg` only verifies that algorithm.
pub fn verify_signature(token: &UnverifiedToken, jwk: &Jwk) -> Result<(), SignatureError> {
    let alg: JwsAlgorithm = token
        .header
        .alg
        .parse()
        .map_err(|_| SignatureError::UnsupportedAlgorithm(token.header.alg.clone()))?;
    if jwk.kty != alg.key_type() {
        return Err(SignatureError::KeyTypeMismatch {
            alg: alg.to_string(),
            jwk_kty: jwk.kty.clone(),
        });
    }
    if let Some(jwk_alg) = &jwk.alg
        && jwk_alg != alg.as_str()
    {
        return Err(SignatureError::AlgMismatch {
            alg: alg.to_string(),
            jwk_alg: jwk_alg.clone(),
        });
    }
    if let Some(use_) = &jwk.use_
        && use_ != "sig"
    {
        return Err(SignatureError::NotForSigning(use_.clone()));
    }
    let key = PublicKey::from_jwk(jwk).map_err(|e| SignatureError::BadKey(e.to_string()))?;
    if let Some(bits) = key.rsa_bits()
        && bits < MIN_RSA_BITS
    {
        return Err(SignatureError::KeyTooShort(bits));
    }
    if key.verify(alg, token.signing_input(), token.signature()) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}
