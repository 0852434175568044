use ecdsa::signature::Signer;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::KeyAlgorithm;
use super::KeyError;
use super::pem::{self, PemBlock};
use super::public_key::{PublicKey, PublicKeyInner};
use crate::jwt::{HashAlgorithm, JwsAlgorithm};

/// A signing key as kube-apiserver's `--service-account-signing-key-file` holds it.
#[derive(Clone)]
pub struct PrivateKey {
    inner: PrivateKeyInner,
}

#[derive(Clone)]
enum PrivateKeyInner {
    // Boxed: an RSA key (with its CRT values) dwarfs the EC scalars.
    Rsa(Box<RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    P521(p521::SecretKey),
}

// Never print key material, not even in debug output.
impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm())
            .field("kid", &self.public_key().kid())
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// A fresh random key pair.
    pub fn generate(algorithm: KeyAlgorithm) -> Self {
        let mut rng = rand::thread_rng();
        let rsa = |rng: &mut rand::rngs::ThreadRng, bits| {
            // Only fails for absurd sizes or a broken RNG, neither reachable with 2048/4096.
            RsaPrivateKey::new(rng, bits)
                .map(|k| PrivateKeyInner::Rsa(Box::new(k)))
                .expect("RSA key generation with a fixed supported size")
        };
        let inner = match algorithm {
            KeyAlgorithm::Rsa2048 => rsa(&mut rng, 2048),
            KeyAlgorithm::Rsa4096 => rsa(&mut rng, 4096),
            KeyAlgorithm::EcP256 => PrivateKeyInner::P256(p256::SecretKey::random(&mut rng)),
            KeyAlgorithm::EcP384 => PrivateKeyInner::P384(p384::SecretKey::random(&mut rng)),
            KeyAlgorithm::EcP521 => PrivateKeyInner::P521(p521::SecretKey::random(&mut rng)),
        };
        PrivateKey { inner }
    }

    /// The first private key in `text`: PKCS#1 `RSA PRIVATE KEY` (`ssh-keygen -t rsa -m pem`,
    /// `openssl genrsa` 1.x), PKCS#8 `PRIVATE KEY` (`openssl genpkey`) or SEC1
    /// `EC PRIVATE KEY` (`openssl ecparam -genkey`). Other blocks are skipped, as kube does,
    /// so the `EC PARAMETERS` block `openssl ecparam -genkey` writes first is harmless.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let blocks = pem::blocks(text)?;
        for block in &blocks {
            if let Some(key) = Self::from_block(block)? {
                return Ok(key);
            }
        }
        Err(KeyError::NoKeyOfKind {
            wanted: "private key",
            found: blocks.into_iter().map(|b| b.label).collect(),
        })
    }

    /// `Ok(None)` when the block's label is not a private-key label.
    pub(crate) fn from_block(block: &PemBlock) -> Result<Option<Self>, KeyError> {
        let invalid = |reason: String| KeyError::InvalidKey {
            label: block.label.clone(),
            reason,
        };
        let der = block.der.as_slice();
        let inner = match block.label.as_str() {
            "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(der)
                .map(|k| PrivateKeyInner::Rsa(Box::new(k)))
                .map_err(|e| invalid(e.to_string()))?,
            "PRIVATE KEY" => Self::from_pkcs8_der(der).map_err(invalid)?,
            "EC PRIVATE KEY" => Self::from_sec1_der(der).map_err(invalid)?,
            _ => return Ok(None),
        };
        let key = PrivateKey { inner };
        key.public_key().check_loadable()?;
        Ok(Some(key))
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKeyInner, String> {
        use pkcs8::DecodePrivateKey;
        if let Ok(k) = RsaPrivateKey::from_pkcs8_der(der) {
            return Ok(PrivateKeyInner::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
            return Ok(PrivateKeyInner::P256(k));
        }
        if let Ok(k) = p384::SecretKey::from_pkcs8_der(der) {
            return Ok(PrivateKeyInner::P384(k));
        }
        if let Ok(k) = p521::SecretKey::from_pkcs8_der(der) {
            return Ok(PrivateKeyInner::P521(k));
        }
        Err("not an RSA, P-256, P-384 or P-521 PKCS#8 private key".into())
    }

    fn from_sec1_der(der: &[u8]) -> Result<PrivateKeyInner, String> {
        if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            return Ok(PrivateKeyInner::P256(k));
        }
        if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
            return Ok(PrivateKeyInner::P384(k));
        }
        if let Ok(k) = p521::SecretKey::from_sec1_der(der) {
            return Ok(PrivateKeyInner::P521(k));
        }
        Err("not a P-256, P-384 or P-521 SEC1 private key".into())
    }

    /// PEM as the usual tools write it: RSA as PKCS#1 `RSA PRIVATE KEY` (like
    /// `ssh-keygen -m pem`), EC as PKCS#8 `PRIVATE KEY` (like `openssl genpkey`).
    ///
    /// EC keys are not written as SEC1 because the RustCrypto SEC1 encoder omits the
    /// curve OID, and Go's `x509.ParseECPrivateKey` (so kube-apiserver) cannot read that.
    pub fn to_pem(&self) -> String {
        use pkcs8::EncodePrivateKey;
        // DER-encoding an in-memory key cannot fail short of allocation failure.
        let (label, der) = match &self.inner {
            PrivateKeyInner::Rsa(k) => (
                "RSA PRIVATE KEY",
                k.to_pkcs1_der()
                    .expect("an RSA key always encodes to DER")
                    .as_bytes()
                    .to_vec(),
            ),
            PrivateKeyInner::P256(k) => (
                "PRIVATE KEY",
                k.to_pkcs8_der()
                    .expect("PKCS#8 encoding")
                    .as_bytes()
                    .to_vec(),
            ),
            PrivateKeyInner::P384(k) => (
                "PRIVATE KEY",
                k.to_pkcs8_der()
                    .expect("PKCS#8 encoding")
                    .as_bytes()
                    .to_vec(),
            ),
            PrivateKeyInner::P521(k) => (
                "PRIVATE KEY",
                k.to_pkcs8_der()
                    .expect("PKCS#8 encoding")
                    .as_bytes()
                    .to_vec(),
            ),
        };
        pem::encode(label, &der)
    }

    /// PKCS#8 `PRIVATE KEY` PEM for any key type, for tools that want it.
    pub fn to_pkcs8_pem(&self) -> String {
        use pkcs8::EncodePrivateKey;
        let der = match &self.inner {
            PrivateKeyInner::Rsa(k) => k.to_pkcs8_der(),
            PrivateKeyInner::P256(k) => k.to_pkcs8_der(),
            PrivateKeyInner::P384(k) => k.to_pkcs8_der(),
            PrivateKeyInner::P521(k) => k.to_pkcs8_der(),
        };
        // DER-encoding an in-memory key cannot fail short of allocation failure.
        pem::encode("PRIVATE KEY", der.expect("PKCS#8 encoding").as_bytes())
    }

    /// The matching verification key.
    pub fn public_key(&self) -> PublicKey {
        let inner = match &self.inner {
            PrivateKeyInner::Rsa(k) => PublicKeyInner::Rsa(k.to_public_key()),
            PrivateKeyInner::P256(k) => PublicKeyInner::P256(k.public_key()),
            PrivateKeyInner::P384(k) => PublicKeyInner::P384(k.public_key()),
            PrivateKeyInner::P521(k) => PublicKeyInner::P521(k.public_key()),
        };
        PublicKey::from_inner(inner)
    }

    /// What kube-apiserver signs with: RS256 for RSA, ES256/ES384/ES512 by curve.
    pub fn algorithm(&self) -> JwsAlgorithm {
        match &self.inner {
            PrivateKeyInner::Rsa(_) => JwsAlgorithm::RS256,
            PrivateKeyInner::P256(_) => JwsAlgorithm::ES256,
            PrivateKeyInner::P384(_) => JwsAlgorithm::ES384,
            PrivateKeyInner::P521(_) => JwsAlgorithm::ES512,
        }
    }

    /// The raw JWS signature over `signing_input` with [`Self::algorithm`]: RSA PKCS#1 v1.5,
    /// or ECDSA as fixed-size `r || s` (RFC 7518 §3.4), never DER.
    pub fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        match &self.inner {
            PrivateKeyInner::Rsa(key) => rsa_sign(key, HashAlgorithm::Sha256, signing_input),
            PrivateKeyInner::P256(k) => {
                let sig: p256::ecdsa::Signature =
                    p256::ecdsa::SigningKey::from(k).sign(signing_input);
                sig.to_bytes().to_vec()
            }
            PrivateKeyInner::P384(k) => {
                let sig: p384::ecdsa::Signature =
                    p384::ecdsa::SigningKey::from(k).sign(signing_input);
                sig.to_bytes().to_vec()
            }
            PrivateKeyInner::P521(k) => {
                let signer =
                    p521::ecdsa::SigningKey::from(ecdsa::SigningKey::<p521::NistP521>::from(k));
                let sig: p521::ecdsa::Signature = signer.sign(signing_input);
                sig.to_bytes().to_vec()
            }
        }
    }

    /// Sign with an explicit JWS algorithm, e.g. RS384/RS512 with an RSA key to forge
    /// tokens a real apiserver never emits. `None` when the key cannot make that algorithm
    /// (an RSA key asked for ES256, a P-256 key asked for ES384, ...).
    pub fn sign_with(&self, alg: JwsAlgorithm, signing_input: &[u8]) -> Option<Vec<u8>> {
        match &self.inner {
            PrivateKeyInner::Rsa(key) if alg.is_rsa() => {
                Some(rsa_sign(key, alg.hash(), signing_input))
            }
            _ if alg == self.algorithm() => Some(self.sign(signing_input)),
            _ => None,
        }
    }
}

fn rsa_sign(key: &RsaPrivateKey, hash: HashAlgorithm, msg: &[u8]) -> Vec<u8> {
    let (scheme, digest) = match hash {
        HashAlgorithm::Sha256 => (Pkcs1v15Sign::new::<Sha256>(), Sha256::digest(msg).to_vec()),
        HashAlgorithm::Sha384 => (Pkcs1v15Sign::new::<Sha384>(), Sha384::digest(msg).to_vec()),
        HashAlgorithm::Sha512 => (Pkcs1v15Sign::new::<Sha512>(), Sha512::digest(msg).to_vec()),
    };
    // Keys are at least 1024 bits (enforced on load and by generate), which fits every
    // SHA-2 DigestInfo, so PKCS#1 v1.5 signing has no failure path left.
    key.sign(scheme, &digest)
        .expect("RSA key of at least 1024 bits fits any SHA-2 DigestInfo")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Throwaway OpenSSL 3.0 keys (commands in public_key.rs tests); secp256k1 made with
    // `openssl ecparam -name secp256k1 -genkey -noout`.
    const RSA_PKCS1: &str = include_str!("testdata/rsa-pkcs1.pem");
    const RSA_PKCS8: &str = include_str!("testdata/rsa-pkcs8.pem");
    const RSA_PUB_PKIX: &str = include_str!("testdata/rsa-pub-pkix.pem");
    const P256_SEC1: &str = include_str!("testdata/p256-sec1.pem");
    const P256_PUB: &str = include_str!("testdata/p256-pub.pem");
    const P384_PKCS8: &str = include_str!("testdata/p384-pkcs8.pem");
    const P521_SEC1: &str = include_str!("testdata/p521-sec1.pem");
    const K256_SEC1: &str = include_str!("testdata/k256-sec1.pem");
    // `openssl ecparam -name prime256v1 -genkey` (no -noout): EC PARAMETERS comes first.
    const P256_WITH_PARAMS: &str = include_str!("testdata/p256-with-params.pem");

    #[test]
    fn reads_pkcs1_pkcs8_and_sec1_as_written_by_openssl() {
        let pkcs1 = PrivateKey::from_pem(RSA_PKCS1).unwrap();
        let pkcs8 = PrivateKey::from_pem(RSA_PKCS8).unwrap();
        let public = PublicKey::from_pem(RSA_PUB_PKIX).unwrap();
        assert_eq!(pkcs1.public_key(), public);
        assert_eq!(pkcs8.public_key(), public);
        assert_eq!(
            PrivateKey::from_pem(P256_SEC1).unwrap().public_key(),
            PublicKey::from_pem(P256_PUB).unwrap()
        );
        assert_eq!(
            PrivateKey::from_pem(P384_PKCS8).unwrap().algorithm(),
            JwsAlgorithm::ES384
        );
        assert_eq!(
            PrivateKey::from_pem(P521_SEC1).unwrap().algorithm(),
            JwsAlgorithm::ES512
        );
    }

    #[test]
    fn leading_ec_parameters_block_is_skipped() {
        assert!(P256_WITH_PARAMS.starts_with("-----BEGIN EC PARAMETERS-----"));
        let key = PrivateKey::from_pem(P256_WITH_PARAMS).unwrap();
        assert_eq!(key.algorithm(), JwsAlgorithm::ES256);
        // The same file in --service-account-key-file yields exactly one key.
        assert_eq!(
            PublicKey::all_from_pem(P256_WITH_PARAMS),
            Ok(vec![key.public_key()])
        );
    }

    #[test]
    fn rsa_to_pem_is_pkcs1_exactly_like_openssl_traditional() {
        // OpenSSL's traditional output and ours are both DER PKCS#1 with 64-column base64.
        assert_eq!(PrivateKey::from_pem(RSA_PKCS8).unwrap().to_pem(), RSA_PKCS1);
    }

    #[test]
    fn to_pkcs8_pem_matches_openssl_genpkey_for_rsa() {
        assert_eq!(
            PrivateKey::from_pem(RSA_PKCS1).unwrap().to_pkcs8_pem(),
            RSA_PKCS8
        );
    }

    #[test]
    fn ec_to_pem_is_pkcs8_exactly_like_openssl_genpkey() {
        assert_eq!(
            PrivateKey::from_pem(P384_PKCS8).unwrap().to_pem(),
            P384_PKCS8
        );
        let from_sec1 = PrivateKey::from_pem(P521_SEC1).unwrap();
        let pem = from_sec1.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(
            PrivateKey::from_pem(&pem).unwrap().public_key(),
            from_sec1.public_key()
        );
    }

    #[test]
    fn every_algorithm_generates_and_round_trips_through_pem() {
        for alg in KeyAlgorithm::ALL {
            let key = PrivateKey::generate(alg);
            let back = PrivateKey::from_pem(&key.to_pem()).unwrap();
            assert_eq!(back.public_key(), key.public_key(), "{alg}");
            let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
            assert_eq!(public, key.public_key(), "{alg}");
            let expected_bits = match alg {
                KeyAlgorithm::Rsa2048 => Some(2048),
                KeyAlgorithm::Rsa4096 => Some(4096),
                _ => None,
            };
            assert_eq!(key.public_key().rsa_bits(), expected_bits, "{alg}");
            assert_eq!(key.algorithm(), key.public_key().algorithm(), "{alg}");
        }
    }

    #[test]
    fn unsupported_keys_are_named_errors() {
        assert!(matches!(
            PrivateKey::from_pem(K256_SEC1),
            Err(KeyError::InvalidKey { label, reason }) if label == "EC PRIVATE KEY" && reason.contains("P-256")
        ));
        assert_eq!(
            PrivateKey::from_pem(RSA_PUB_PKIX).map(|_| ()),
            Err(KeyError::NoKeyOfKind {
                wanted: "private key",
                found: vec!["PUBLIC KEY".into()]
            })
        );
        let small = RsaPrivateKey::new(&mut rand::thread_rng(), 512).unwrap();
        let pem = pem::encode("RSA PRIVATE KEY", small.to_pkcs1_der().unwrap().as_bytes());
        assert_eq!(
            PrivateKey::from_pem(&pem).map(|_| ()),
            Err(KeyError::RsaKeyTooSmall {
                bits: 512,
                min: 1024
            })
        );
    }

    #[test]
    fn sign_with_refuses_algorithms_the_key_cannot_make() {
        let ec = PrivateKey::from_pem(P256_SEC1).unwrap();
        assert!(ec.sign_with(JwsAlgorithm::ES384, b"x").is_none());
        assert!(ec.sign_with(JwsAlgorithm::RS256, b"x").is_none());
        assert_eq!(
            ec.sign_with(JwsAlgorithm::ES256, b"x").map(|s| s.len()),
            Some(64)
        );
        let rsa = PrivateKey::from_pem(RSA_PKCS1).unwrap();
        assert!(rsa.sign_with(JwsAlgorithm::ES256, b"x").is_none());
        // PKCS#1 v1.5 is deterministic, so different hashes give different signatures.
        assert_ne!(
            rsa.sign_with(JwsAlgorithm::RS384, b"x"),
            rsa.sign_with(JwsAlgorithm::RS512, b"x")
        );
        assert_eq!(
            rsa.sign_with(JwsAlgorithm::RS256, b"x"),
            Some(rsa.sign(b"x"))
        );
    }

    #[test]
    fn debug_output_never_contains_key_material() {
        let key = PrivateKey::from_pem(P256_SEC1).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("ES256"));
        let body: String = P256_SEC1.lines().nth(1).unwrap().chars().take(16).collect();
        assert!(!debug.contains(&body));
    }
}
