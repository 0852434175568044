//! Signing keys and their public halves: generation, PEM in every form kube-apiserver
//! accepts, the `kid` it derives, and the JWK it publishes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use super::algorithm::{JwsAlgorithm, KeyAlgorithm};
use super::jwk::Jwk;

/// Why key material could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block found (expected -----BEGIN ...----- lines)")]
    NoPem,
    #[error("PEM block {label:?} is not a key irsa-lab understands ({detail})")]
    UnsupportedPem { label: String, detail: String },
    #[error("JWK is unusable: {0}")]
    BadJwk(String),
}

#[derive(Clone)]
enum Private {
    Rsa(Box<RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    P521(p521::SecretKey),
}

/// A private signing key (RSA or EC P-256/P-384/P-521).
#[derive(Clone)]
pub struct PrivateKey(Private);

impl std::fmt::Debug for PrivateKey {
    /// Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PrivateKey({}, kid {})",
            self.algorithm(),
            self.public_key().kid()
        )
    }
}

impl PrivateKey {
    /// A fresh key from the OS random number generator.
    pub fn generate(algorithm: KeyAlgorithm) -> Self {
        let mut rng = rand::rngs::OsRng;
        let inner = match algorithm {
            // Generation only fails for absurd sizes; 2048 and 4096 are fine.
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa4096 => {
                let bits = if algorithm == KeyAlgorithm::Rsa2048 {
                    2048
                } else {
                    4096
                };
                #[allow(clippy::expect_used)]
                Private::Rsa(Box::new(
                    RsaPrivateKey::new(&mut rng, bits)
                        .expect("RSA key generation with a valid size"),
                ))
            }
            KeyAlgorithm::EcP256 => Private::P256(p256::SecretKey::random(&mut rng)),
            KeyAlgorithm::EcP384 => Private::P384(p384::SecretKey::random(&mut rng)),
            KeyAlgorithm::EcP521 => Private::P521(p521::SecretKey::random(&mut rng)),
        };
        Self(inner)
    }

    /// Reads the first private key in `pem`: PKCS#1 `RSA PRIVATE KEY` (what
    /// `ssh-keygen -t rsa -m pem` writes), PKCS#8 `PRIVATE KEY`, or SEC1 `EC PRIVATE KEY`.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let blocks = pem_blocks(pem);
        let mut last_error = None;
        for (label, block) in &blocks {
            match private_from_block(label, block) {
                Ok(Some(key)) => return Ok(key),
                Ok(None) => {}
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or(KeyError::NoPem))
    }

    /// PEM as kube-apiserver's `--service-account-signing-key-file` takes it: PKCS#1 for RSA
    /// (like `ssh-keygen -m pem`), SEC1 `EC PRIVATE KEY` for EC keys (like `openssl ecparam`).
    pub fn to_pem(&self) -> String {
        let pem = match &self.0 {
            Private::Rsa(k) => k.to_pkcs1_pem(LineEnding::LF).map(|z| z.to_string()),
            Private::P256(k) => k
                .to_sec1_pem(LineEnding::LF)
                .map(|z| z.to_string())
                .map_err(|_| rsa::pkcs1::Error::Version),
            Private::P384(k) => k
                .to_sec1_pem(LineEnding::LF)
                .map(|z| z.to_string())
                .map_err(|_| rsa::pkcs1::Error::Version),
            Private::P521(k) => k
                .to_sec1_pem(LineEnding::LF)
                .map(|z| z.to_string())
                .map_err(|_| rsa::pkcs1::Error::Version),
        };
        // Encoding a valid in-memory key cannot fail.
        pem.unwrap_or_default()
    }

    /// PKCS#8 PEM (`PRIVATE KEY`), for tools that want it.
    pub fn to_pkcs8_pem(&self) -> String {
        let pem = match &self.0 {
            Private::Rsa(k) => k.to_pkcs8_pem(LineEnding::LF),
            Private::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            Private::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
            Private::P521(k) => k.to_pkcs8_pem(LineEnding::LF),
        };
        pem.map(|z| z.to_string()).unwrap_or_default()
    }

    pub fn public_key(&self) -> PublicKey {
        match &self.0 {
            Private::Rsa(k) => PublicKey::from_inner(Public::Rsa(k.to_public_key())),
            Private::P256(k) => PublicKey::from_inner(Public::P256(k.public_key())),
            Private::P384(k) => PublicKey::from_inner(Public::P384(k.public_key())),
            Private::P521(k) => PublicKey::from_inner(Public::P521(k.public_key())),
        }
    }

    /// The algorithm kube-apiserver signs with for this key: RS256 for every RSA key,
    /// ES256/ES384/ES512 by curve.
    pub fn algorithm(&self) -> JwsAlgorithm {
        match &self.0 {
            Private::Rsa(_) => JwsAlgorithm::RS256,
            Private::P256(_) => JwsAlgorithm::ES256,
            Private::P384(_) => JwsAlgorithm::ES384,
            Private::P521(_) => JwsAlgorithm::ES512,
        }
    }

    /// Raw JWS signature over `signing_input` with this key's own algorithm.
    pub fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        self.sign_with(self.algorithm(), signing_input)
            .unwrap_or_default()
    }

    /// Raw JWS signature with a chosen algorithm (RSA keys can sign RS256/384/512; EC keys
    /// only their curve's algorithm). `None` when the key cannot sign with `alg`.
    /// ECDSA signatures are the fixed-size `r || s` JWS requires.
    pub fn sign_with(&self, alg: JwsAlgorithm, signing_input: &[u8]) -> Option<Vec<u8>> {
        use rsa::signature::{SignatureEncoding, Signer};
        match (&self.0, alg) {
            (Private::Rsa(k), JwsAlgorithm::RS256) => Some(
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone())
                    .sign(signing_input)
                    .to_vec(),
            ),
            (Private::Rsa(k), JwsAlgorithm::RS384) => Some(
                rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new((**k).clone())
                    .sign(signing_input)
                    .to_vec(),
            ),
            (Private::Rsa(k), JwsAlgorithm::RS512) => Some(
                rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new((**k).clone())
                    .sign(signing_input)
                    .to_vec(),
            ),
            (Private::P256(k), JwsAlgorithm::ES256) => {
                let sig: p256::ecdsa::Signature =
                    p256::ecdsa::SigningKey::from(k).sign(signing_input);
                Some(sig.to_bytes().to_vec())
            }
            (Private::P384(k), JwsAlgorithm::ES384) => {
                let sig: p384::ecdsa::Signature =
                    p384::ecdsa::SigningKey::from(k).sign(signing_input);
                Some(sig.to_bytes().to_vec())
            }
            (Private::P521(k), JwsAlgorithm::ES512) => {
                let signer = p521::ecdsa::SigningKey::from_bytes(&k.to_bytes()).ok()?;
                let sig: p521::ecdsa::Signature = signer.sign(signing_input);
                Some(sig.to_bytes().to_vec())
            }
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Public {
    Rsa(RsaPublicKey),
    P256(p256::PublicKey),
    P384(p384::PublicKey),
    P521(p521::PublicKey),
}

/// A public verification key, with the DER `SubjectPublicKeyInfo` its `kid` is derived from.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: Public,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({}, kid {})", self.algorithm(), self.kid())
    }
}

impl PublicKey {
    fn from_inner(inner: Public) -> Self {
        let der = match &inner {
            Public::Rsa(k) => k.to_public_key_der(),
            Public::P256(k) => k.to_public_key_der(),
            Public::P384(k) => k.to_public_key_der(),
            Public::P521(k) => k.to_public_key_der(),
        };
        // Encoding a valid in-memory key cannot fail.
        let spki_der = der.map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        Self { inner, spki_der }
    }

    /// The first key in `pem` (see [`PublicKey::all_from_pem`]).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::all_from_pem(pem)?
            .into_iter()
            .next()
            .ok_or(KeyError::NoPem)
    }

    /// Every key in a PEM bundle, as kube-apiserver reads `--service-account-key-file`:
    /// PKIX `PUBLIC KEY` (what `ssh-keygen -e -m PKCS8` writes), PKCS#1 `RSA PUBLIC KEY`,
    /// and private keys, which contribute their public half. Unknown blocks (certificates)
    /// are an error naming the label.
    pub fn all_from_pem(pem: &str) -> Result<Vec<Self>, KeyError> {
        let blocks = pem_blocks(pem);
        if blocks.is_empty() {
            return Err(KeyError::NoPem);
        }
        let mut keys = Vec::new();
        for (label, block) in &blocks {
            if let Some(key) = public_from_block(label, block)? {
                keys.push(key);
            } else if let Some(private) = private_from_block(label, block)? {
                keys.push(private.public_key());
            } else {
                return Err(KeyError::UnsupportedPem {
                    label: label.clone(),
                    detail: "not a public or private key".into(),
                });
            }
        }
        Ok(keys)
    }

    /// Reads a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let bad = |e: &dyn std::fmt::Display| KeyError::UnsupportedPem {
            label: "PUBLIC KEY".into(),
            detail: e.to_string(),
        };
        if let Ok(k) = RsaPublicKey::from_public_key_der(der) {
            return Ok(Self::from_inner(Public::Rsa(k)));
        }
        if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
            return Ok(Self::from_inner(Public::P256(k)));
        }
        if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
            return Ok(Self::from_inner(Public::P384(k)));
        }
        p521::PublicKey::from_public_key_der(der)
            .map(|k| Self::from_inner(Public::P521(k)))
            .map_err(|e| bad(&e))
    }

    /// PKIX PEM with 64-column lines, byte for byte what `ssh-keygen -e -m PKCS8` prints.
    pub fn to_pem(&self) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(&self.spki_der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key id kube-apiserver (1.16+, kubernetes PR 78502) puts in tokens: unpadded
    /// base64url of SHA-256 over the DER SubjectPublicKeyInfo, 43 characters.
    pub fn kid(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.spki_der))
    }

    pub fn algorithm(&self) -> JwsAlgorithm {
        match &self.inner {
            Public::Rsa(_) => JwsAlgorithm::RS256,
            Public::P256(_) => JwsAlgorithm::ES256,
            Public::P384(_) => JwsAlgorithm::ES384,
            Public::P521(_) => JwsAlgorithm::ES512,
        }
    }

    /// RSA modulus size in bits (`None` for EC keys).
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.inner {
            Public::Rsa(k) => Some(k.size() * 8),
            _ => None,
        }
    }

    /// The JWK kube-apiserver publishes for this key (`use: sig`, its kid and algorithm).
    pub fn to_jwk(&self) -> Jwk {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let mut jwk = Jwk {
            use_: Some("sig".into()),
            kty: String::new(),
            kid: Some(self.kid()),
            crv: None,
            alg: Some(self.algorithm().to_string()),
            x: None,
            y: None,
            n: None,
            e: None,
            extra: Default::default(),
        };
        let (crv, point) = match &self.inner {
            Public::Rsa(k) => {
                jwk.kty = "RSA".into();
                jwk.n = Some(b64(&k.n().to_bytes_be()));
                jwk.e = Some(b64(&k.e().to_bytes_be()));
                return jwk;
            }
            Public::P256(k) => ("P-256", k.to_sec1_bytes().to_vec()),
            Public::P384(k) => ("P-384", k.to_sec1_bytes().to_vec()),
            Public::P521(k) => ("P-521", k.to_sec1_bytes().to_vec()),
        };
        // Uncompressed SEC1 point: 0x04 || X || Y, coordinates of equal fixed size.
        let coords = &point[1..];
        let (x, y) = coords.split_at(coords.len() / 2);
        jwk.kty = "EC".into();
        jwk.crv = Some(crv.into());
        jwk.x = Some(b64(x));
        jwk.y = Some(b64(y));
        jwk
    }

    /// The public key a JWK describes (RSA `n`/`e`, EC `crv`/`x`/`y`).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let field = |name: &str, v: &Option<String>| -> Result<Vec<u8>, KeyError> {
            let v = v
                .as_deref()
                .ok_or_else(|| KeyError::BadJwk(format!("{} key without {name:?}", jwk.kty)))?;
            URL_SAFE_NO_PAD
                .decode(v)
                .map_err(|e| KeyError::BadJwk(format!("{name:?} is not unpadded base64url: {e}")))
        };
        match jwk.kty.as_str() {
            "RSA" => {
                let n = BigUint::from_bytes_be(&field("n", &jwk.n)?);
                let e = BigUint::from_bytes_be(&field("e", &jwk.e)?);
                RsaPublicKey::new(n, e)
                    .map(|k| Self::from_inner(Public::Rsa(k)))
                    .map_err(|e| KeyError::BadJwk(format!("invalid RSA key: {e}")))
            }
            "EC" => {
                let x = field("x", &jwk.x)?;
                let y = field("y", &jwk.y)?;
                let mut sec1 = Vec::with_capacity(1 + x.len() + y.len());
                sec1.push(4);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                let bad =
                    |e: &dyn std::fmt::Display| KeyError::BadJwk(format!("invalid EC point: {e}"));
                match jwk.crv.as_deref() {
                    Some("P-256") if x.len() == 32 && y.len() == 32 => {
                        p256::PublicKey::from_sec1_bytes(&sec1)
                            .map(|k| Self::from_inner(Public::P256(k)))
                            .map_err(|e| bad(&e))
                    }
                    Some("P-384") if x.len() == 48 && y.len() == 48 => {
                        p384::PublicKey::from_sec1_bytes(&sec1)
                            .map(|k| Self::from_inner(Public::P384(k)))
                            .map_err(|e| bad(&e))
                    }
                    Some("P-521") if x.len() == 66 && y.len() == 66 => {
                        p521::PublicKey::from_sec1_bytes(&sec1)
                            .map(|k| Self::from_inner(Public::P521(k)))
                            .map_err(|e| bad(&e))
                    }
                    Some(crv @ ("P-256" | "P-384" | "P-521")) => Err(KeyError::BadJwk(format!(
                        "coordinates have the wrong length for {crv}"
                    ))),
                    other => Err(KeyError::BadJwk(format!("unsupported curve {other:?}"))),
                }
            }
            other => Err(KeyError::BadJwk(format!("unsupported key type {other:?}"))),
        }
    }

    /// Checks a raw JWS signature made with `alg`. The key type must fit the algorithm.
    pub fn verify(&self, alg: JwsAlgorithm, signing_input: &[u8], signature: &[u8]) -> bool {
        use rsa::signature::Verifier;
        match (&self.inner, alg) {
            // RSA verification goes through ring: RustCrypto's `rsa` takes ~300 us per
            // RS256-2048 check, ring ~20 us, and STS verifies every token. ring's
            // RSA_PKCS1_2048_8192_* parameters also refuse keys below 2048 bits.
            (Public::Rsa(k), JwsAlgorithm::RS256 | JwsAlgorithm::RS384 | JwsAlgorithm::RS512) => {
                let params = match alg {
                    JwsAlgorithm::RS384 => &ring::signature::RSA_PKCS1_2048_8192_SHA384,
                    JwsAlgorithm::RS512 => &ring::signature::RSA_PKCS1_2048_8192_SHA512,
                    _ => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                };
                let components = ring::signature::RsaPublicKeyComponents {
                    n: k.n().to_bytes_be(),
                    e: k.e().to_bytes_be(),
                };
                components.verify(params, signing_input, signature).is_ok()
            }
            // `from_slice` accepts only the fixed-size r || s encoding JWS mandates (not DER).
            (Public::P256(k), JwsAlgorithm::ES256) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| {
                    p256::ecdsa::VerifyingKey::from(k)
                        .verify(signing_input, &s)
                        .is_ok()
                }),
            (Public::P384(k), JwsAlgorithm::ES384) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| {
                    p384::ecdsa::VerifyingKey::from(k)
                        .verify(signing_input, &s)
                        .is_ok()
                }),
            (Public::P521(k), JwsAlgorithm::ES512) => {
                let Ok(s) = p521::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                let Ok(vk) = p521::ecdsa::VerifyingKey::from_sec1_bytes(&k.to_sec1_bytes()) else {
                    return false;
                };
                vk.verify(signing_input, &s).is_ok()
            }
            _ => false,
        }
    }
}

/// Splits PEM text into (label, whole block text) pairs.
fn pem_blocks(pem: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_owned();
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let block_end = start + end + end_marker.len();
        blocks.push((label, rest[start..block_end].to_owned()));
        rest = &rest[block_end..];
    }
    blocks
}

fn unsupported(label: &str, e: impl std::fmt::Display) -> KeyError {
    KeyError::UnsupportedPem {
        label: label.to_owned(),
        detail: e.to_string(),
    }
}

/// `Ok(None)` when the block is not a private key at all.
fn private_from_block(label: &str, block: &str) -> Result<Option<PrivateKey>, KeyError> {
    let key = match label {
        "RSA PRIVATE KEY" => Private::Rsa(Box::new(
            RsaPrivateKey::from_pkcs1_pem(block).map_err(|e| unsupported(label, e))?,
        )),
        "EC PRIVATE KEY" => {
            if let Ok(k) = p256::SecretKey::from_sec1_pem(block) {
                Private::P256(k)
            } else if let Ok(k) = p384::SecretKey::from_sec1_pem(block) {
                Private::P384(k)
            } else {
                Private::P521(
                    p521::SecretKey::from_sec1_pem(block).map_err(|e| unsupported(label, e))?,
                )
            }
        }
        "PRIVATE KEY" => {
            if let Ok(k) = RsaPrivateKey::from_pkcs8_pem(block) {
                Private::Rsa(Box::new(k))
            } else if let Ok(k) = p256::SecretKey::from_pkcs8_pem(block) {
                Private::P256(k)
            } else if let Ok(k) = p384::SecretKey::from_pkcs8_pem(block) {
                Private::P384(k)
            } else {
                Private::P521(
                    p521::SecretKey::from_pkcs8_pem(block).map_err(|e| unsupported(label, e))?,
                )
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(PrivateKey(key)))
}

/// `Ok(None)` when the block is not a public key at all.
fn public_from_block(label: &str, block: &str) -> Result<Option<PublicKey>, KeyError> {
    match label {
        "RSA PUBLIC KEY" => {
            let k = RsaPublicKey::from_pkcs1_pem(block).map_err(|e| unsupported(label, e))?;
            Ok(Some(PublicKey::from_inner(Public::Rsa(k))))
        }
        "PUBLIC KEY" => {
            let der = pem_body_der(block).ok_or_else(|| unsupported(label, "invalid base64"))?;
            PublicKey::from_spki_der(&der).map(Some)
        }
        _ => Ok(None),
    }
}

fn pem_body_der(block: &str) -> Option<Vec<u8>> {
    let body: String = block
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}
