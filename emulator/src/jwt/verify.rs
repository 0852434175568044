use rsa::traits::PublicKeyParts;
use thiserror::Error;

use super::{HashAlgorithm, JwsAlgorithm, UnverifiedToken};
use crate::issuer::PublicKeyInner;
use crate::issuer::{Jwk, KeyError, PublicKey};

/// RSA verification keys smaller than this are refused. AWS does not document a minimum;
/// we pick 2048 bits (NIST's floor since 2013 and what every IRSA guide generates) so a
/// weak key is a visible, named failure rather than something the emulator quietly
/// accepts. Go (and so kube-apiserver) can still *sign* with 1024-bit keys.
pub const MIN_RSA_VERIFY_BITS: usize = 2048;

/// Why a token's signature does not verify against a key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The header's `alg` is not one of RS256/384/512, ES256/384/512.
    #[error("unsupported JWS algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The JWK says it is for something other than signatures.
    #[error("JWK \"use\" is {0:?}, not \"sig\"")]
    KeyUseNotSig(String),
    /// The JWK pins an `alg` different from the token's.
    #[error("JWK \"alg\" is {jwk:?} but the token's is {token:?}")]
    AlgMismatch { jwk: String, token: String },
    /// The key's type or curve cannot make the token's algorithm.
    #[error("a key of type {key} cannot verify {alg} signatures")]
    KeyTypeMismatch { alg: JwsAlgorithm, key: String },
    /// The JWK itself is unusable.
    #[error(transparent)]
    InvalidKey(#[from] KeyError),
    /// RSA key below [`MIN_RSA_VERIFY_BITS`].
    #[error("RSA key of {bits} bits is below the {min}-bit minimum")]
    RsaKeyTooSmall { bits: usize, min: usize },
    /// An ECDSA signature that is not exactly `r || s` at the curve's width (e.g. DER).
    #[error("{alg} signature must be {expected} bytes (r || s), got {found}")]
    BadSignatureLength {
        alg: JwsAlgorithm,
        expected: usize,
        found: usize,
    },
    /// Well-formed, but the signature does not match the signing input under this key.
    #[error("signature verification failed")]
    Invalid,
}

/// Checks `token`'s signature against `jwk`: the header `alg` must be one of the six,
/// the JWK's `use` (when present) must be `sig`, its `alg` (when present) must equal the
/// header's, and its `kty`/`crv` must fit the algorithm.
pub fn verify_signature(token: &UnverifiedToken, jwk: &Jwk) -> Result<(), SignatureError> {
    let alg: JwsAlgorithm = token
        .header
        .alg
        .parse()
        .map_err(|_| SignatureError::UnsupportedAlgorithm(token.header.alg.clone()))?;
    if let Some(use_) = &jwk.use_
        && use_ != "sig"
    {
        return Err(SignatureError::KeyUseNotSig(use_.clone()));
    }
    if let Some(jwk_alg) = &jwk.alg
        && jwk_alg != alg.as_str()
    {
        return Err(SignatureError::AlgMismatch {
            jwk: jwk_alg.clone(),
            token: alg.as_str().to_string(),
        });
    }
    let key_name = match &jwk.crv {
        Some(crv) => format!("{} {crv}", jwk.kty),
        None => jwk.kty.clone(),
    };
    let fits = jwk.kty == alg.key_type() && (alg.is_rsa() || jwk.crv.as_deref() == alg.curve());
    if !fits {
        return Err(SignatureError::KeyTypeMismatch { alg, key: key_name });
    }
    verify_with_key(token, &PublicKey::from_jwk(jwk)?)
}

/// Checks `token`'s signature against an already decoded key (no JWK metadata checks).
pub fn verify_with_key(token: &UnverifiedToken, key: &PublicKey) -> Result<(), SignatureError> {
    let alg: JwsAlgorithm = token
        .header
        .alg
        .parse()
        .map_err(|_| SignatureError::UnsupportedAlgorithm(token.header.alg.clone()))?;
    verify_raw(
        key,
        alg,
        token.signing_input().as_bytes(),
        token.signature(),
    )
}

pub(crate) fn verify_raw(
    key: &PublicKey,
    alg: JwsAlgorithm,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SignatureError> {
    let mismatch = || SignatureError::KeyTypeMismatch {
        alg,
        key: key.algorithm().key_type().to_string(),
    };
    match &key.inner {
        PublicKeyInner::Rsa(k) => {
            if !alg.is_rsa() {
                return Err(mismatch());
            }
            let bits = k.n().bits();
            if bits < MIN_RSA_VERIFY_BITS {
                return Err(SignatureError::RsaKeyTooSmall {
                    bits,
                    min: MIN_RSA_VERIFY_BITS,
                });
            }
            // Verification goes through ring: RustCrypto's `rsa` takes ~300 us per
            // RS256-2048 check, ring ~20 us, and STS verifies every token. ring's
            // RSA_PKCS1_2048_8192_* parameters share our 2048-bit floor.
            let params = match alg.hash() {
                HashAlgorithm::Sha256 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                HashAlgorithm::Sha384 => &ring::signature::RSA_PKCS1_2048_8192_SHA384,
                HashAlgorithm::Sha512 => &ring::signature::RSA_PKCS1_2048_8192_SHA512,
            };
            let components = ring::signature::RsaPublicKeyComponents {
                n: k.n().to_bytes_be(),
                e: k.e().to_bytes_be(),
            };
            components
                .verify(params, msg, sig)
                .map_err(|_| SignatureError::Invalid)
        }
        PublicKeyInner::P256(k) if alg == JwsAlgorithm::ES256 => {
            let vk = p256::ecdsa::VerifyingKey::from(k);
            ecdsa_verify::<p256::ecdsa::Signature, _>(alg, 64, sig, |s| {
                ecdsa::signature::Verifier::verify(&vk, msg, s)
            })
        }
        PublicKeyInner::P384(k) if alg == JwsAlgorithm::ES384 => {
            let vk = p384::ecdsa::VerifyingKey::from(k);
            ecdsa_verify::<p384::ecdsa::Signature, _>(alg, 96, sig, |s| {
                ecdsa::signature::Verifier::verify(&vk, msg, s)
            })
        }
        PublicKeyInner::P521(k) if alg == JwsAlgorithm::ES512 => {
            let vk =
                p521::ecdsa::VerifyingKey::from(ecdsa::VerifyingKey::<p521::NistP521>::from(k));
            ecdsa_verify::<p521::ecdsa::Signature, _>(alg, 132, sig, |s| {
                ecdsa::signature::Verifier::verify(&vk, msg, s)
            })
        }
        _ => Err(mismatch()),
    }
}

fn ecdsa_verify<S, F>(
    alg: JwsAlgorithm,
    expected: usize,
    sig: &[u8],
    verify: F,
) -> Result<(), SignatureError>
where
    S: for<'a> TryFrom<&'a [u8]>,
    F: FnOnce(&S) -> Result<(), ecdsa::Error>,
{
    if sig.len() != expected {
        return Err(SignatureError::BadSignatureLength {
            alg,
            expected,
            found: sig.len(),
        });
    }
    // r or s of zero or >= n fails to parse: a malformed signature is simply invalid.
    let sig = S::try_from(sig).map_err(|_| SignatureError::Invalid)?;
    verify(&sig).map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;
    use crate::issuer::{KeyAlgorithm, PrivateKey, sign_hs256, sign_raw};
    use crate::jwt::parse;

    /// RSA key generation is the slow part; share one key per algorithm across tests.
    fn key(alg: KeyAlgorithm) -> &'static PrivateKey {
        static KEYS: OnceLock<Vec<(KeyAlgorithm, PrivateKey)>> = OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            [
                KeyAlgorithm::Rsa2048,
                KeyAlgorithm::EcP256,
                KeyAlgorithm::EcP384,
                KeyAlgorithm::EcP521,
            ]
            .into_iter()
            .map(|a| (a, PrivateKey::generate(a)))
            .collect()
        });
        &keys
            .iter()
            .find(|(a, _)| *a == alg)
            .expect("test key generated")
            .1
    }

    fn claims() -> serde_json::Value {
        json!({"iss": "https://issuer.example", "sub": "system:serviceaccount:ns:sa", "aud": ["sts.amazonaws.com"]})
    }

    fn forge(alg: &str, key: &PrivateKey) -> UnverifiedToken {
        let token = sign_raw(
            &json!({"alg": alg, "kid": key.public_key().kid()}),
            &claims(),
            key,
        );
        parse(&token).unwrap()
    }

    fn key_for(alg: JwsAlgorithm) -> &'static PrivateKey {
        match alg {
            JwsAlgorithm::ES256 => key(KeyAlgorithm::EcP256),
            JwsAlgorithm::ES384 => key(KeyAlgorithm::EcP384),
            JwsAlgorithm::ES512 => key(KeyAlgorithm::EcP521),
            _ => key(KeyAlgorithm::Rsa2048),
        }
    }

    /// The JWK a token signed as `alg` should verify with: the key's JWK, with `alg`
    /// adjusted for RS384/RS512 (kube would publish RS256 for the same RSA key).
    fn jwk_for(alg: JwsAlgorithm) -> Jwk {
        let mut jwk = key_for(alg).public_key().to_jwk();
        jwk.alg = Some(alg.as_str().into());
        jwk
    }

    #[test]
    fn all_six_algorithms_sign_and_verify() {
        for alg in JwsAlgorithm::ALL {
            let token = forge(alg.as_str(), key_for(alg));
            assert_eq!(verify_signature(&token, &jwk_for(alg)), Ok(()), "{alg}");
            let expected_len = match alg {
                JwsAlgorithm::ES256 => 64,
                JwsAlgorithm::ES384 => 96,
                JwsAlgorithm::ES512 => 132,
                _ => 256,
            };
            assert_eq!(token.signature().len(), expected_len, "{alg}");
        }
    }

    #[test]
    fn tampered_payload_fails() {
        for alg in JwsAlgorithm::ALL {
            let good = sign_raw(&json!({"alg": alg.as_str()}), &claims(), key_for(alg));
            let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
            let mut evil = claims();
            evil["sub"] = json!("system:serviceaccount:kube-system:admin");
            parts[1] = URL_SAFE_NO_PAD.encode(evil.to_string());
            let token = parse(&parts.join(".")).unwrap();
            assert_eq!(
                verify_signature(&token, &jwk_for(alg)),
                Err(SignatureError::Invalid),
                "{alg}"
            );
        }
    }

    #[test]
    fn tampered_signature_fails() {
        for alg in JwsAlgorithm::ALL {
            let good = sign_raw(&json!({"alg": alg.as_str()}), &claims(), key_for(alg));
            let (input, sig) = good.rsplit_once('.').unwrap();
            let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
            sig[10] ^= 0x01;
            let token = parse(&format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))).unwrap();
            assert_eq!(
                verify_signature(&token, &jwk_for(alg)),
                Err(SignatureError::Invalid),
                "{alg}"
            );
        }
    }

    #[test]
    fn wrong_key_fails() {
        let other = PrivateKey::generate(KeyAlgorithm::EcP256);
        let token = forge("ES256", key(KeyAlgorithm::EcP256));
        assert_eq!(
            verify_signature(&token, &other.public_key().to_jwk()),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn key_type_must_fit_the_algorithm() {
        let rsa_token = forge("RS256", key(KeyAlgorithm::Rsa2048));
        let mut ec_jwk = key(KeyAlgorithm::EcP256).public_key().to_jwk();
        ec_jwk.alg = None;
        assert!(matches!(
            verify_signature(&rsa_token, &ec_jwk),
            Err(SignatureError::KeyTypeMismatch {
                alg: JwsAlgorithm::RS256,
                ..
            })
        ));
        let ec_token = forge("ES256", key(KeyAlgorithm::EcP256));
        let mut rsa_jwk = key(KeyAlgorithm::Rsa2048).public_key().to_jwk();
        rsa_jwk.alg = None;
        assert!(matches!(
            verify_signature(&ec_token, &rsa_jwk),
            Err(SignatureError::KeyTypeMismatch {
                alg: JwsAlgorithm::ES256,
                ..
            })
        ));
        // Same family, wrong curve: a P-384 key never verifies ES256.
        let mut p384 = key(KeyAlgorithm::EcP384).public_key().to_jwk();
        p384.alg = None;
        assert!(matches!(
            verify_signature(&ec_token, &p384),
            Err(SignatureError::KeyTypeMismatch { .. })
        ));
        // And the key-level check holds without JWK metadata too.
        assert!(matches!(
            verify_with_key(&ec_token, &key(KeyAlgorithm::Rsa2048).public_key()),
            Err(SignatureError::KeyTypeMismatch { .. })
        ));
    }

    #[test]
    fn jwk_alg_and_use_are_enforced() {
        let token = forge("RS384", key(KeyAlgorithm::Rsa2048));
        // The published JWK says RS256; an RS384 token must not slip through it.
        let published = key(KeyAlgorithm::Rsa2048).public_key().to_jwk();
        assert_eq!(
            verify_signature(&token, &published),
            Err(SignatureError::AlgMismatch {
                jwk: "RS256".into(),
                token: "RS384".into()
            })
        );
        let mut enc = jwk_for(JwsAlgorithm::RS384);
        enc.use_ = Some("enc".into());
        assert_eq!(
            verify_signature(&token, &enc),
            Err(SignatureError::KeyUseNotSig("enc".into()))
        );
        let mut bare = jwk_for(JwsAlgorithm::RS384);
        bare.use_ = None;
        bare.alg = None;
        assert_eq!(verify_signature(&token, &bare), Ok(()));
    }

    #[test]
    fn alg_none_and_hs256_with_the_public_key_are_refused() {
        let rsa = key(KeyAlgorithm::Rsa2048);
        let jwk = rsa.public_key().to_jwk();
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        // An empty signature part is already a parse error; with a dummy signature the
        // algorithm itself is refused.
        assert!(parse(&unsigned).is_err());
        let none = parse(&format!("{unsigned}AA")).unwrap();
        assert_eq!(
            verify_signature(&none, &jwk),
            Err(SignatureError::UnsupportedAlgorithm("none".into()))
        );
        let hs = sign_hs256(
            &json!({"alg": "HS256"}),
            &claims(),
            rsa.public_key().to_pem().as_bytes(),
        );
        let hs = parse(&hs).unwrap();
        let mut no_alg_jwk = jwk.clone();
        no_alg_jwk.alg = None;
        assert_eq!(
            verify_signature(&hs, &no_alg_jwk),
            Err(SignatureError::UnsupportedAlgorithm("HS256".into()))
        );
    }

    #[test]
    fn ecdsa_signatures_must_be_fixed_size_r_s() {
        let token = forge("ES256", key(KeyAlgorithm::EcP256));
        // Re-encode r||s as DER, which some libraries emit by mistake.
        let sig = p256::ecdsa::Signature::from_slice(token.signature()).unwrap();
        let der = sig.to_der();
        let input = token.signing_input();
        let der_token = parse(&format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(der.as_bytes())
        ))
        .unwrap();
        assert!(matches!(
            verify_signature(&der_token, &jwk_for(JwsAlgorithm::ES256)),
            Err(SignatureError::BadSignatureLength { expected: 64, .. })
        ));
    }

    #[test]
    fn rsa_keys_below_2048_bits_are_refused() {
        let small = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let pem = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&small, rsa::pkcs1::LineEnding::LF)
            .unwrap();
        // Loadable (kube-apiserver could sign with it) but never verifies here.
        let key = PrivateKey::from_pem(&pem).unwrap();
        let token = forge("RS256", &key);
        assert_eq!(
            verify_signature(&token, &key.public_key().to_jwk()),
            Err(SignatureError::RsaKeyTooSmall {
                bits: 1024,
                min: MIN_RSA_VERIFY_BITS
            })
        );
    }

    #[test]
    fn an_unusable_jwk_is_a_key_error() {
        let token = forge("ES256", key(KeyAlgorithm::EcP256));
        let mut jwk = jwk_for(JwsAlgorithm::ES256);
        jwk.x = Some("AAAA".into());
        assert!(matches!(
            verify_signature(&token, &jwk),
            Err(SignatureError::InvalidKey(_))
        ));
    }

    #[test]
    fn a_key_embedded_in_the_header_is_never_trusted() {
        let attacker = PrivateKey::generate(KeyAlgorithm::EcP256);
        let header = json!({
            "alg": "ES256",
            "jwk": attacker.public_key().to_jwk(),
            "jku": "https://attacker.example/jwks",
            "x5u": "https://attacker.example/cert.pem",
        });
        let token = parse(&sign_raw(&header, &claims(), &attacker)).unwrap();
        // Verified only against the issuer's key, which did not sign it.
        assert_eq!(
            verify_signature(&token, &key(KeyAlgorithm::EcP256).public_key().to_jwk()),
            Err(SignatureError::Invalid)
        );
    }
}
