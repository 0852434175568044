use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use spki::{DecodePublicKey, EncodePublicKey};

use super::pem::{self, PemBlock};
use super::private_key::PrivateKey;
use super::{Jwk, KeyError};
use crate::jwt::JwsAlgorithm;

/// Go's crypto/rsa (1.24+) refuses keys below 1024 bits, so kube-apiserver cannot load
/// them; we refuse them on load too rather than emulate a cluster that could not exist.
pub(crate) const MIN_LOADABLE_RSA_BITS: usize = 1024;

/// A verification key: RSA or ECDSA over P-256, P-384 or P-521.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) inner: PublicKeyInner,
    /// The DER SubjectPublicKeyInfo, computed once: `kid`, PEM and HS256 forgeries use it.
    spki: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKeyInner {
    Rsa(RsaPublicKey),
    P256(p256::PublicKey),
    P384(p384::PublicKey),
    P521(p521::PublicKey),
}

impl PublicKey {
    pub(crate) fn from_inner(inner: PublicKeyInner) -> Self {
        // Encoding an in-memory, already validated key has no failure path in practice;
        // the error type exists only because the encoder is generic over writers.
        let doc = match &inner {
            PublicKeyInner::Rsa(k) => k.to_public_key_der(),
            PublicKeyInner::P256(k) => k.to_public_key_der(),
            PublicKeyInner::P384(k) => k.to_public_key_der(),
            PublicKeyInner::P521(k) => k.to_public_key_der(),
        };
        let spki = doc
            .expect("a validated public key always encodes to DER")
            .into_vec();
        PublicKey { inner, spki }
    }

    /// Reads a DER SubjectPublicKeyInfo (RSA, P-256, P-384 or P-521).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let inner = Self::inner_from_spki_der(der).map_err(|reason| KeyError::InvalidKey {
            label: "PUBLIC KEY".into(),
            reason,
        })?;
        let key = Self::from_inner(inner);
        key.check_loadable()?;
        Ok(key)
    }

    /// The first public key in `text`: PKIX `PUBLIC KEY` (what `openssl rsa -pubout` and
    /// `ssh-keygen -e -m PKCS8` write) or PKCS#1 `RSA PUBLIC KEY`. Other blocks are skipped;
    /// use [`Self::all_from_pem`] to read every key, private keys included.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let blocks = pem::blocks(text)?;
        for block in &blocks {
            if let Some(key) = Self::from_public_block(block)? {
                return Ok(key);
            }
        }
        Err(KeyError::NoKeyOfKind {
            wanted: "public key",
            found: blocks.into_iter().map(|b| b.label).collect(),
        })
    }

    /// Every key in a PEM bundle, the way kube-apiserver reads `--service-account-key-file`:
    /// public keys as they are, private keys (PKCS#1, PKCS#8, SEC1) as their public half,
    /// other blocks (certificates, parameters) skipped. A bundle with no key is an error.
    pub fn all_from_pem(text: &str) -> Result<Vec<Self>, KeyError> {
        let mut keys = Vec::new();
        for block in pem::blocks(text)? {
            if let Some(key) = Self::from_public_block(&block)? {
                keys.push(key);
            } else if let Some(key) = PrivateKey::from_block(&block)? {
                keys.push(key.public_key());
            }
        }
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        Ok(keys)
    }

    /// `Ok(None)` when the block's label is not a public-key label.
    fn from_public_block(block: &PemBlock) -> Result<Option<Self>, KeyError> {
        let invalid = |reason: String| KeyError::InvalidKey {
            label: block.label.clone(),
            reason,
        };
        let inner = match block.label.as_str() {
            "PUBLIC KEY" => Self::inner_from_spki_der(&block.der).map_err(invalid)?,
            "RSA PUBLIC KEY" => RsaPublicKey::from_pkcs1_der(&block.der)
                .map(PublicKeyInner::Rsa)
                .map_err(|e| invalid(e.to_string()))?,
            _ => return Ok(None),
        };
        let key = Self::from_inner(inner);
        key.check_loadable()?;
        Ok(Some(key))
    }

    fn inner_from_spki_der(der: &[u8]) -> Result<PublicKeyInner, String> {
        if let Ok(k) = RsaPublicKey::from_public_key_der(der) {
            return Ok(PublicKeyInner::Rsa(k));
        }
        if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
            return Ok(PublicKeyInner::P256(k));
        }
        if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
            return Ok(PublicKeyInner::P384(k));
        }
        if let Ok(k) = p521::PublicKey::from_public_key_der(der) {
            return Ok(PublicKeyInner::P521(k));
        }
        Err("not an RSA, P-256, P-384 or P-521 SubjectPublicKeyInfo".into())
    }

    pub(crate) fn check_loadable(&self) -> Result<(), KeyError> {
        match self.rsa_bits() {
            Some(bits) if bits < MIN_LOADABLE_RSA_BITS => Err(KeyError::RsaKeyTooSmall {
                bits,
                min: MIN_LOADABLE_RSA_BITS,
            }),
            _ => Ok(()),
        }
    }

    /// The modulus size in bits for RSA keys, `None` for EC keys.
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.inner {
            PublicKeyInner::Rsa(k) => Some(k.n().bits()),
            _ => None,
        }
    }

    /// DER SubjectPublicKeyInfo, byte-identical to Go's `x509.MarshalPKIXPublicKey`
    /// (RSA with NULL parameters, EC as an uncompressed point with a named curve).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// PKIX `PUBLIC KEY` PEM with 64-column lines.
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki)
    }

    /// kube-apiserver's key ID (since 1.16): unpadded base64url of SHA-256 over the DER
    /// SubjectPublicKeyInfo; always 43 characters.
    pub fn kid(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.spki))
    }

    /// The algorithm kube-apiserver signs with for this key: RS256 for any RSA key,
    /// ES256/ES384/ES512 by curve.
    pub fn algorithm(&self) -> JwsAlgorithm {
        match &self.inner {
            PublicKeyInner::Rsa(_) => JwsAlgorithm::RS256,
            PublicKeyInner::P256(_) => JwsAlgorithm::ES256,
            PublicKeyInner::P384(_) => JwsAlgorithm::ES384,
            PublicKeyInner::P521(_) => JwsAlgorithm::ES512,
        }
    }

    /// The JWK kube-apiserver publishes for this key: `{use:"sig", kty, kid, alg, n, e}`
    /// for RSA, `{use:"sig", kty:"EC", kid, crv, alg, x, y}` for EC (fixed-width x and y).
    pub fn to_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            use_: Some("sig".into()),
            kty: self.algorithm().key_type().into(),
            kid: Some(self.kid()),
            crv: self.algorithm().curve().map(str::to_string),
            alg: Some(self.algorithm().as_str().into()),
            x: None,
            y: None,
            n: None,
            e: None,
            extra: Default::default(),
        };
        let b64 = |bytes: &[u8]| Some(URL_SAFE_NO_PAD.encode(bytes));
        match &self.inner {
            PublicKeyInner::Rsa(k) => {
                jwk.n = b64(&k.n().to_bytes_be());
                jwk.e = b64(&k.e().to_bytes_be());
            }
            PublicKeyInner::P256(k) => {
                let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(k, false);
                jwk.x = point.x().and_then(|x| b64(x));
                jwk.y = point.y().and_then(|y| b64(y));
            }
            PublicKeyInner::P384(k) => {
                let point = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(k, false);
                jwk.x = point.x().and_then(|x| b64(x));
                jwk.y = point.y().and_then(|y| b64(y));
            }
            PublicKeyInner::P521(k) => {
                let point = p521::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(k, false);
                jwk.x = point.x().and_then(|x| b64(x));
                jwk.y = point.y().and_then(|y| b64(y));
            }
        }
        jwk
    }

    /// The public key a JWK describes. Only `kty`, `n`/`e` and `crv`/`x`/`y` are read;
    /// `use`, `alg` and `kid` are the verifier's business. EC coordinates must have the
    /// curve's full width (RFC 7518 §6.2.1.2) and lie on the curve.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let field = |name: &str, value: &Option<String>| -> Result<Vec<u8>, KeyError> {
            let text = value
                .as_deref()
                .ok_or_else(|| KeyError::InvalidJwk(format!("missing {name:?}")))?;
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|e| KeyError::InvalidJwk(format!("{name:?} is not base64url: {e}")))
        };
        let inner = match jwk.kty.as_str() {
            "RSA" => {
                let n = rsa::BigUint::from_bytes_be(&field("n", &jwk.n)?);
                let e = rsa::BigUint::from_bytes_be(&field("e", &jwk.e)?);
                RsaPublicKey::new(n, e)
                    .map(PublicKeyInner::Rsa)
                    .map_err(|e| KeyError::InvalidJwk(format!("bad RSA key: {e}")))?
            }
            "EC" => {
                let crv = jwk
                    .crv
                    .as_deref()
                    .ok_or_else(|| KeyError::InvalidJwk("missing \"crv\"".into()))?;
                let (x, y) = (field("x", &jwk.x)?, field("y", &jwk.y)?);
                let width = match crv {
                    "P-256" => 32,
                    "P-384" => 48,
                    "P-521" => 66,
                    other => {
                        return Err(KeyError::InvalidJwk(format!(
                            "unsupported curve {other:?} (supported: P-256, P-384, P-521)"
                        )));
                    }
                };
                if x.len() != width || y.len() != width {
                    return Err(KeyError::InvalidJwk(format!(
                        "{crv} coordinates must be {width} bytes each, got x={} y={}",
                        x.len(),
                        y.len()
                    )));
                }
                let mut sec1 = Vec::with_capacity(1 + 2 * width);
                sec1.push(0x04);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                let off_curve = |_| KeyError::InvalidJwk(format!("point is not on {crv}"));
                match crv {
                    "P-256" => p256::PublicKey::from_sec1_bytes(&sec1)
                        .map(PublicKeyInner::P256)
                        .map_err(off_curve)?,
                    "P-384" => p384::PublicKey::from_sec1_bytes(&sec1)
                        .map(PublicKeyInner::P384)
                        .map_err(off_curve)?,
                    _ => p521::PublicKey::from_sec1_bytes(&sec1)
                        .map(PublicKeyInner::P521)
                        .map_err(off_curve)?,
                }
            }
            other => {
                return Err(KeyError::InvalidJwk(format!(
                    "unsupported kty {other:?} (supported: RSA, EC)"
                )));
            }
        };
        Ok(Self::from_inner(inner))
    }

    /// Whether `signature` is a valid `alg` signature over `signing_input` by this key
    /// (the key type must fit `alg`). See [`crate::jwt::verify_signature`] for the
    /// checked, error-reporting path used on tokens.
    pub fn verify(&self, alg: JwsAlgorithm, signing_input: &[u8], signature: &[u8]) -> bool {
        crate::jwt::verify_raw(self, alg, signing_input, signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Throwaway keys made with OpenSSL 3.0 for these tests only:
    //   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-pkcs8.pem
    //   openssl pkey -in rsa-pkcs8.pem -pubout -out rsa-pub-pkix.pem
    //   openssl rsa -in rsa-pkcs8.pem -RSAPublicKey_out -out rsa-pub-pkcs1.pem
    //   openssl ecparam -name prime256v1 -genkey -noout -out p256-sec1.pem
    //   openssl pkey -in p256-sec1.pem -pubout -out p256-pub.pem
    //   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384-pkcs8.pem
    //   openssl ecparam -name secp521r1 -genkey -noout -out p521-sec1.pem
    const RSA_PUB_PKIX: &str = include_str!("testdata/rsa-pub-pkix.pem");
    const RSA_PUB_PKCS1: &str = include_str!("testdata/rsa-pub-pkcs1.pem");
    const RSA_PKCS1: &str = include_str!("testdata/rsa-pkcs1.pem");
    const P256_PUB: &str = include_str!("testdata/p256-pub.pem");
    const P256_SEC1: &str = include_str!("testdata/p256-sec1.pem");
    const P384_PKCS8: &str = include_str!("testdata/p384-pkcs8.pem");
    const P521_SEC1: &str = include_str!("testdata/p521-sec1.pem");

    // Computed outside this crate, per key, with:
    //   openssl pkey [-pubin] -in KEY -pubout -outform DER | openssl dgst -sha256 -binary \
    //     | base64 | tr '+/' '-_' | tr -d '=\n'
    // which is kube-apiserver's derivation over the DER SubjectPublicKeyInfo.
    const RSA_KID: &str = "qPDbLw-rhOgqZOT8JoUfFI6cDnOLONMCH6cju6_j0z4";
    const P256_KID: &str = "MvfEq77tKRh0ChdZYOQQk8poJ_hZkR0ZdA5ezC4N0fo";
    const P384_KID: &str = "KOslvw8nnStzaqzNdJqmwr7PzBGp7ydbQAv8lyLPmlA";
    const P521_KID: &str = "VBIQl6rdd3AvaCEHCamhtio8aS34a7g-XT2FHwDAHdk";

    // `openssl rsa -pubin -modulus` and `openssl ec -text` (x, y) re-encoded as base64url.
    const RSA_N: &str = "0zQSbcWKVtWkq0RLS0WZrggituUvik7sqTTIZY45Oc6a6YSz3Ycxqwl_LuU1i48mLQgoRmZ1fQjBt7SDL5dbRxQS7oXp59KY9V-0NxKRCUaMgi8sNNwEYNyxmb5XQI2fIp9KXVRKkEfmVPrpUDe6SasIdfJBqR0Ki8l0Y-5C1EcvmVwnc7aQwz0ghoiwFz3C8tWgw89R-0AKCpc5Q8NGyUtK_4TkssKlw_1iDVHBLSuQs7q0-XLrRBvKAUtLCv_xgwdKLN2zzu-01EeoFcZVxD4jgSZuRFdKXizpeyp8c2M1Nkw8RVKcFb_STFF97ufNw6cMVsM7nbCZyKytNw9a1Q";
    const P521_X: &str =
        "AQDWXjMm466O7vGuJYv8Tnk4d9w-0amBME_L5F0kXGwCAXA2Ue43P3T_-6oL0_SR0EGDrgeU5STJekSW1SlsaRIx";
    const P521_Y: &str =
        "AKVKu6l-okWNzt6OUX5vqxtEJ7Kf1NydqJuGjI6H0EqjmRFlc3uukC46CfJMaEaNxtb4qI5aOn2kbsncj3GU883h";

    #[test]
    fn kid_matches_openssl_computed_values() {
        let rsa = PublicKey::from_pem(RSA_PUB_PKIX).unwrap();
        assert_eq!(rsa.kid(), RSA_KID);
        assert_eq!(rsa.kid().len(), 43);
        assert_eq!(PublicKey::from_pem(P256_PUB).unwrap().kid(), P256_KID);
        let p384 = PrivateKey::from_pem(P384_PKCS8).unwrap().public_key();
        assert_eq!(p384.kid(), P384_KID);
        let p521 = PrivateKey::from_pem(P521_SEC1).unwrap().public_key();
        assert_eq!(p521.kid(), P521_KID);
    }

    #[test]
    fn reads_the_seed_guides_ssh_keygen_output() {
        // `ssh-keygen -t rsa -b 2048 -m pem -N "" -f sa-signer` and
        // `ssh-keygen -e -m PKCS8 -f sa-signer.pub`, as the self-hosted setup guide does.
        // Expected kid from the openssl pipeline above, run on the .pub file.
        let private = PrivateKey::from_pem(include_str!("testdata/ssh-keygen-rsa.pem")).unwrap();
        let public =
            PublicKey::from_pem(include_str!("testdata/ssh-keygen-rsa-pkcs8.pub")).unwrap();
        assert_eq!(private.public_key(), public);
        assert_eq!(public.kid(), "8siD8AsOign_1O8hQdZej1TAn2P898G2MbEuwfsumF4");
    }

    #[test]
    fn pkcs1_and_pkix_public_keys_are_the_same_key() {
        let pkix = PublicKey::from_pem(RSA_PUB_PKIX).unwrap();
        let pkcs1 = PublicKey::from_pem(RSA_PUB_PKCS1).unwrap();
        assert_eq!(pkix, pkcs1);
        assert_eq!(pkcs1.kid(), RSA_KID);
        assert_eq!(pkcs1.rsa_bits(), Some(2048));
    }

    #[test]
    fn to_pem_reproduces_openssl_output_exactly() {
        // Both write PKIX with 64-column lines, so the text is byte-identical.
        assert_eq!(
            PublicKey::from_pem(RSA_PUB_PKIX).unwrap().to_pem(),
            RSA_PUB_PKIX
        );
        assert_eq!(PublicKey::from_pem(P256_PUB).unwrap().to_pem(), P256_PUB);
    }

    #[test]
    fn rsa_jwk_has_kube_shape_and_openssl_modulus() {
        let jwk = PublicKey::from_pem(RSA_PUB_PKIX).unwrap().to_jwk();
        assert_eq!(
            serde_json::to_string(&jwk).unwrap(),
            format!(
                r#"{{"use":"sig","kty":"RSA","kid":"{RSA_KID}","alg":"RS256","n":"{RSA_N}","e":"AQAB"}}"#
            )
        );
    }

    #[test]
    fn ec_jwk_has_kube_field_order_and_full_width_coordinates() {
        let key = PrivateKey::from_pem(P521_SEC1).unwrap().public_key();
        let jwk = key.to_jwk();
        // go-jose order: use, kty, kid, crv, alg, x, y. P-521 coordinates keep their
        // leading zero bytes (66 bytes each; this key's y starts with 0x00).
        assert_eq!(
            serde_json::to_string(&jwk).unwrap(),
            format!(
                r#"{{"use":"sig","kty":"EC","kid":"{P521_KID}","crv":"P-521","alg":"ES512","x":"{P521_X}","y":"{P521_Y}"}}"#
            )
        );
    }

    #[test]
    fn jwk_round_trips_for_every_key_type() {
        for text in [RSA_PUB_PKIX, P256_PUB] {
            let key = PublicKey::from_pem(text).unwrap();
            assert_eq!(PublicKey::from_jwk(&key.to_jwk()).unwrap(), key);
        }
        for text in [P384_PKCS8, P521_SEC1, P256_SEC1, RSA_PKCS1] {
            let key = PrivateKey::from_pem(text).unwrap().public_key();
            let back = PublicKey::from_jwk(&key.to_jwk()).unwrap();
            assert_eq!(back, key);
            assert_eq!(back.kid(), key.kid());
        }
    }

    #[test]
    fn bad_jwks_are_named_errors() {
        let good = PublicKey::from_pem(P256_PUB).unwrap().to_jwk();
        type Mutation = Box<dyn Fn(&mut Jwk)>;
        let cases: [(&str, Mutation); 6] = [
            ("kty", Box::new(|j| j.kty = "OKP".into())),
            ("curve", Box::new(|j| j.crv = Some("secp256k1".into()))),
            ("\"crv\"", Box::new(|j| j.crv = None)),
            ("\"x\"", Box::new(|j| j.x = None)),
            ("base64url", Box::new(|j| j.y = Some("a+b/".into()))),
            ("32 bytes", Box::new(|j| j.x = Some("AAAA".into()))),
        ];
        for (needle, mutate) in cases {
            let mut jwk = good.clone();
            mutate(&mut jwk);
            let err = PublicKey::from_jwk(&jwk).unwrap_err().to_string();
            assert!(err.contains(needle), "{err:?} should mention {needle}");
        }
        // Right widths, but (0, 0) is not on the curve.
        let mut off = good.clone();
        off.x = Some("A".repeat(43));
        off.y = Some("A".repeat(43));
        assert!(
            PublicKey::from_jwk(&off)
                .unwrap_err()
                .to_string()
                .contains("not on")
        );
        let mut rsa = PublicKey::from_pem(RSA_PUB_PKIX).unwrap().to_jwk();
        rsa.e = None;
        assert!(
            PublicKey::from_jwk(&rsa)
                .unwrap_err()
                .to_string()
                .contains("\"e\"")
        );
    }

    #[test]
    fn bundles_yield_every_key_including_private_keys_public_half() {
        let bundle = format!(
            "# service-account keys\n{RSA_PUB_PKIX}{P256_SEC1}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{P384_PKCS8}"
        );
        let keys = PublicKey::all_from_pem(&bundle).unwrap();
        let kids: Vec<String> = keys.iter().map(PublicKey::kid).collect();
        assert_eq!(kids, [RSA_KID, P256_KID, P384_KID]);
    }

    #[test]
    fn bundles_without_keys_and_wrong_labels_are_errors() {
        let cert_only = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(PublicKey::all_from_pem(cert_only), Err(KeyError::NoKeys));
        assert_eq!(
            PublicKey::from_pem(cert_only),
            Err(KeyError::NoKeyOfKind {
                wanted: "public key",
                found: vec!["CERTIFICATE".into()]
            })
        );
        // A private key is not accepted where a public key is asked for.
        let err = PublicKey::from_pem(RSA_PKCS1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no public key in PEM data (found: RSA PRIVATE KEY)"
        );
        let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            PublicKey::from_pem(garbage),
            Err(KeyError::InvalidKey { label, .. }) if label == "PUBLIC KEY"
        ));
    }
}
