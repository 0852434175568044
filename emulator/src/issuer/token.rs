//! Tokens byte-for-byte shaped like kube-apiserver's (keys and times aside).
//!
//! kube-apiserver builds claims with go-jose, which round-trips them through a Go map, so
//! every JSON object in a real token has its keys in alphabetical order. The structs below
//! declare their fields alphabetically to reproduce that without relying on map ordering.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::PrivateKey;

/// A named object with its UID, as bound-token claims reference pods, nodes, secrets and
/// service accounts. Empty members are omitted, as Go's `omitempty` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl ObjectRef {
    /// Shorthand for `ObjectRef { name, uid }`.
    pub fn new(name: impl Into<String>, uid: impl Into<String>) -> Self {
        ObjectRef {
            name: name.into(),
            uid: uid.into(),
        }
    }
}

/// Everything a projected / TokenRequest token says. Expiration policy (max expiration,
/// the 3607 s extension) is applied by the caller: see [`super::extend_expiration`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundTokenRequest {
    /// `iss`: the first `--service-account-issuer`.
    pub issuer: String,
    /// `aud`: always serialised as an array, even with a single audience.
    pub audiences: Vec<String>,
    pub namespace: String,
    pub service_account: ObjectRef,
    pub pod: Option<ObjectRef>,
    pub node: Option<ObjectRef>,
    pub secret: Option<ObjectRef>,
    /// `iat` and `nbf`, seconds since the epoch.
    pub issued_at: i64,
    /// `exp` = `issued_at + expiration_seconds`.
    pub expiration_seconds: i64,
    /// `kubernetes.io.warnafter`, absolute seconds since the epoch.
    pub warn_after: Option<i64>,
    /// `jti`; `None` emulates clusters before 1.30 (no `jti` claim).
    pub jti: Option<String>,
}

impl BoundTokenRequest {
    /// The claims object exactly as [`sign_bound_token`] signs it (before Go's HTML
    /// escaping, which only changes how strings are spelled), for tests that tweak one
    /// claim and re-sign with [`sign_raw`].
    pub fn claims(&self) -> serde_json::Value {
        // A struct of strings and integers always converts.
        serde_json::to_value(self.bound_claims()).expect("claims convert to JSON")
    }

    fn bound_claims(&self) -> BoundClaims<'_> {
        BoundClaims {
            aud: &self.audiences,
            exp: self.issued_at + self.expiration_seconds,
            iat: self.issued_at,
            iss: &self.issuer,
            jti: self.jti.as_deref(),
            kubernetes_io: KubernetesClaims {
                namespace: &self.namespace,
                node: self.node.as_ref(),
                pod: self.pod.as_ref(),
                secret: self.secret.as_ref(),
                serviceaccount: &self.service_account,
                warnafter: self.warn_after,
            },
            nbf: self.issued_at,
            sub: subject(&self.namespace, &self.service_account.name),
        }
    }

    /// A fresh `jti` as kube-apiserver makes them (a random UUID, since 1.30).
    pub fn random_jti() -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Whether the header carries a `kid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KidMode {
    /// `kid` = SHA-256 of the SPKI, as kube-apiserver does since 1.16.
    #[default]
    Sha256,
    /// No `kid` member at all, as before 1.16.
    Omitted,
}

#[derive(Serialize)]
struct JoseHeader<'a> {
    alg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

#[derive(Serialize)]
struct BoundClaims<'a> {
    aud: &'a [String],
    exp: i64,
    iat: i64,
    iss: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(rename = "kubernetes.io")]
    kubernetes_io: KubernetesClaims<'a>,
    nbf: i64,
    sub: String,
}

#[derive(Serialize)]
struct KubernetesClaims<'a> {
    namespace: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a ObjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod: Option<&'a ObjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a ObjectRef>,
    serviceaccount: &'a ObjectRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    warnafter: Option<i64>,
}

/// A signed projected service-account token, exactly as kube-apiserver would mint it
/// with `key`: header `{"alg":..,"kid":..}` (no `typ`), alphabetical claims.
pub fn sign_bound_token(req: &BoundTokenRequest, key: &PrivateKey, kid: KidMode) -> String {
    let claims = req.bound_claims();
    sign_serialisable(&claims, key, kid)
}

/// A legacy Secret-based token (what the token controller wrote into
/// `kubernetes.io/service-account-token` Secrets): no `aud`, no `exp`, flat claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTokenRequest {
    pub namespace: String,
    pub service_account: ObjectRef,
    pub secret_name: String,
}

#[derive(Serialize)]
struct LegacyClaims<'a> {
    iss: &'static str,
    #[serde(rename = "kubernetes.io/serviceaccount/namespace")]
    namespace: &'a str,
    #[serde(rename = "kubernetes.io/serviceaccount/secret.name")]
    secret_name: &'a str,
    #[serde(rename = "kubernetes.io/serviceaccount/service-account.name")]
    service_account_name: &'a str,
    #[serde(rename = "kubernetes.io/serviceaccount/service-account.uid")]
    service_account_uid: &'a str,
    sub: String,
}

/// The legacy issuer, fixed regardless of `--service-account-issuer`.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

/// Signs a legacy Secret-based token (`iss: kubernetes/serviceaccount`).
pub fn sign_legacy_token(req: &LegacyTokenRequest, key: &PrivateKey, kid: KidMode) -> String {
    let claims = LegacyClaims {
        iss: LEGACY_ISSUER,
        namespace: &req.namespace,
        secret_name: &req.secret_name,
        service_account_name: &req.service_account.name,
        service_account_uid: &req.service_account.uid,
        sub: subject(&req.namespace, &req.service_account.name),
    };
    sign_serialisable(&claims, key, kid)
}

fn subject(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// The header kube-apiserver writes for `key`: `{"alg":..,"kid":..}`, or `{"alg":..}`
/// with [`KidMode::Omitted`].
pub fn header_for(key: &PrivateKey, kid: KidMode) -> serde_json::Value {
    // A struct of two strings always converts.
    serde_json::to_value(jose_header(key, kid)).expect("header converts to JSON")
}

fn jose_header(key: &PrivateKey, kid: KidMode) -> JoseHeader<'static> {
    JoseHeader {
        alg: key.algorithm().as_str(),
        kid: match kid {
            KidMode::Sha256 => Some(key.public_key().kid()),
            KidMode::Omitted => None,
        },
    }
}

fn sign_serialisable(claims: &impl Serialize, key: &PrivateKey, kid: KidMode) -> String {
    // Plain structs of strings and integers always serialise.
    let header = serde_json::to_string(&jose_header(key, kid)).expect("header serialises");
    let claims = serde_json::to_string(claims).expect("claims serialise");
    let input = signing_input(header.as_bytes(), go_json_escape(&claims).as_bytes());
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Go's `encoding/json` (which go-jose uses) escapes `<`, `>`, `&`, U+2028 and U+2029
/// inside strings; serde_json does not. None of them can appear outside a JSON string, so
/// replacing them in the serialised text is exact.
fn go_json_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn signing_input(header: &[u8], claims: &[u8]) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// Any header and claims signed with `key` using the header's `alg` when the key can make
/// it (so RS384/RS512 work with RSA keys), else the key's own algorithm. For forging test
/// tokens: nothing about the header (`alg: none`, `jku`, odd `kid`) is checked. Members
/// come out in serde_json's map order; use [`sign_raw_json`] to control the exact bytes.
pub fn sign_raw(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    key: &PrivateKey,
) -> String {
    sign_raw_json(&header.to_string(), &claims.to_string(), key)
}

/// Like [`sign_raw`], but header and claims are taken as exact text, which need not even
/// be valid JSON (duplicate members, trailing garbage): for parser-hardening tests.
pub fn sign_raw_json(header: &str, claims: &str, key: &PrivateKey) -> String {
    let input = signing_input(header.as_bytes(), claims.as_bytes());
    let alg = serde_json::from_str::<serde_json::Value>(header)
        .ok()
        .and_then(|h| h.get("alg")?.as_str()?.parse().ok());
    let signature = alg
        .and_then(|alg| key.sign_with(alg, input.as_bytes()))
        .unwrap_or_else(|| key.sign(input.as_bytes()));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An HMAC-SHA256 signed token, for forging the classic "HS256 signed with the issuer's
/// public key as the secret" attack in tests. The header is used as given.
pub fn sign_hs256(header: &serde_json::Value, claims: &serde_json::Value, secret: &[u8]) -> String {
    let input = signing_input(header.to_string().as_bytes(), claims.to_string().as_bytes());
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::issuer::{KeyAlgorithm, jwks};
    use crate::jwt::{parse, verify_signature};

    const RSA_PKCS1: &str = include_str!("testdata/rsa-pkcs1.pem");

    fn rsa() -> PrivateKey {
        PrivateKey::from_pem(RSA_PKCS1).unwrap()
    }

    fn request() -> BoundTokenRequest {
        BoundTokenRequest {
            issuer: "https://oidc.example.com/cluster".into(),
            audiences: vec!["sts.amazonaws.com".into()],
            namespace: "apps".into(),
            service_account: ObjectRef::new("uploader", "sa-uid"),
            pod: Some(ObjectRef::new("uploader-7d9f", "pod-uid")),
            node: Some(ObjectRef::new("node-1", "node-uid")),
            secret: None,
            issued_at: 1_700_000_000,
            expiration_seconds: 86_400,
            warn_after: None,
            jti: Some("6e3c8a0e-2b8c-4b7e-9d55-1f0e5f2f8a11".into()),
        }
    }

    /// The header and payload exactly as encoded in the token (decoded, not re-serialised).
    fn texts(token: &str) -> (String, String) {
        let mut parts = token.split('.');
        let mut next = || {
            let bytes = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
            String::from_utf8(bytes).unwrap()
        };
        (next(), next())
    }

    #[test]
    fn bound_token_is_shaped_like_kube_apiservers() {
        let key = rsa();
        let token = sign_bound_token(&request(), &key, KidMode::Sha256);
        let (header, payload) = texts(&token);
        assert_eq!(
            header,
            format!(r#"{{"alg":"RS256","kid":"{}"}}"#, key.public_key().kid())
        );
        assert_eq!(
            payload,
            concat!(
                r#"{"aud":["sts.amazonaws.com"],"exp":1700086400,"iat":1700000000,"#,
                r#""iss":"https://oidc.example.com/cluster","#,
                r#""jti":"6e3c8a0e-2b8c-4b7e-9d55-1f0e5f2f8a11","#,
                r#""kubernetes.io":{"namespace":"apps","node":{"name":"node-1","uid":"node-uid"},"#,
                r#""pod":{"name":"uploader-7d9f","uid":"pod-uid"},"#,
                r#""serviceaccount":{"name":"uploader","uid":"sa-uid"}},"#,
                r#""nbf":1700000000,"sub":"system:serviceaccount:apps:uploader"}"#
            )
        );
    }

    #[test]
    fn claims_and_header_for_resign_to_the_same_token() {
        // Re-signing the exposed claims and header reproduces the minted token exactly
        // (PKCS#1 v1.5 is deterministic), so tests can tweak one claim from a faithful base.
        let key = rsa();
        let minted = sign_bound_token(&request(), &key, KidMode::Sha256);
        let resigned = sign_raw(
            &header_for(&key, KidMode::Sha256),
            &request().claims(),
            &key,
        );
        assert_eq!(resigned, minted);
        assert_eq!(header_for(&key, KidMode::Omitted), json!({"alg": "RS256"}));
    }

    #[test]
    fn bound_token_verifies_against_the_published_jwks() {
        let key = PrivateKey::generate(KeyAlgorithm::EcP384);
        let token = sign_bound_token(&request(), &key, KidMode::Sha256);
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.header.alg, "ES384");
        let set = jwks(&[key.public_key()], false);
        let kid = parsed.header.kid.clone().unwrap();
        let jwk = set.find(&kid).next().unwrap();
        assert_eq!(verify_signature(&parsed, jwk), Ok(()));
        assert_eq!(parsed.audiences().unwrap(), vec!["sts.amazonaws.com"]);
    }

    #[test]
    fn optional_claims_appear_only_when_set() {
        let mut req = request();
        req.pod = None;
        req.node = None;
        req.jti = None;
        req.secret = Some(ObjectRef::new("legacy-secret", "secret-uid"));
        req.warn_after = Some(1_700_003_607);
        req.service_account.uid = String::new();
        let (_, payload) = texts(&sign_bound_token(&req, &rsa(), KidMode::Sha256));
        assert!(!payload.contains("jti"));
        assert!(!payload.contains("pod"));
        assert!(payload.contains(
            r#""kubernetes.io":{"namespace":"apps","secret":{"name":"legacy-secret","uid":"secret-uid"},"serviceaccount":{"name":"uploader"},"warnafter":1700003607}"#
        ));
    }

    #[test]
    fn several_audiences_stay_in_request_order() {
        let mut req = request();
        req.audiences = vec![
            "sts.amazonaws.com".into(),
            "https://kubernetes.default.svc".into(),
        ];
        let (_, payload) = texts(&sign_bound_token(&req, &rsa(), KidMode::Sha256));
        assert!(
            payload
                .starts_with(r#"{"aud":["sts.amazonaws.com","https://kubernetes.default.svc"],"#)
        );
    }

    #[test]
    fn omitted_kid_means_no_kid_member_at_all() {
        let key = PrivateKey::generate(KeyAlgorithm::EcP256);
        let token = sign_bound_token(&request(), &key, KidMode::Omitted);
        let (header, _) = texts(&token);
        assert_eq!(header, r#"{"alg":"ES256"}"#);
        assert_eq!(parse(&token).unwrap().header.kid, None);
    }

    #[test]
    fn html_characters_are_escaped_like_go() {
        let mut req = request();
        req.issuer = "https://i.example/?a=1&b=<2>".into();
        let (_, payload) = texts(&sign_bound_token(&req, &rsa(), KidMode::Sha256));
        assert!(payload.contains(r#""iss":"https://i.example/?a=1\u0026b=\u003c2\u003e""#));
        let parsed = parse(&sign_bound_token(&req, &rsa(), KidMode::Sha256)).unwrap();
        assert_eq!(parsed.issuer(), Ok(Some(req.issuer.as_str())));
    }

    #[test]
    fn random_jti_is_a_fresh_uuid() {
        let (a, b) = (
            BoundTokenRequest::random_jti(),
            BoundTokenRequest::random_jti(),
        );
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn sign_raw_json_keeps_the_exact_text() {
        let header = r#"{"kid":"k","alg":"ES256","alg":"ES256"}"#;
        let token = sign_raw_json(
            header,
            r#"{"sub":"x"}"#,
            &PrivateKey::generate(KeyAlgorithm::EcP256),
        );
        assert_eq!(texts(&token).0, header);
    }

    #[test]
    fn legacy_token_has_flat_claims_and_no_aud_or_exp() {
        let req = LegacyTokenRequest {
            namespace: "apps".into(),
            service_account: ObjectRef::new("uploader", "sa-uid"),
            secret_name: "uploader-token-x7k2p".into(),
        };
        let (_, payload) = texts(&sign_legacy_token(&req, &rsa(), KidMode::Sha256));
        assert_eq!(
            payload,
            concat!(
                r#"{"iss":"kubernetes/serviceaccount","#,
                r#""kubernetes.io/serviceaccount/namespace":"apps","#,
                r#""kubernetes.io/serviceaccount/secret.name":"uploader-token-x7k2p","#,
                r#""kubernetes.io/serviceaccount/service-account.name":"uploader","#,
                r#""kubernetes.io/serviceaccount/service-account.uid":"sa-uid","#,
                r#""sub":"system:serviceaccount:apps:uploader"}"#
            )
        );
    }

    #[test]
    fn sign_raw_uses_the_headers_algorithm_when_the_key_can() {
        let key = rsa();
        let token = sign_raw(
            &json!({"alg": "RS512", "typ": "JWT"}),
            &json!({"sub": "x"}),
            &key,
        );
        let parsed = parse(&token).unwrap();
        let mut jwk = key.public_key().to_jwk();
        jwk.alg = Some("RS512".into());
        assert_eq!(verify_signature(&parsed, &jwk), Ok(()));
        assert_eq!(parsed.header.raw.get("typ"), Some(&json!("JWT")));
    }

    #[test]
    fn sign_hs256_is_hmac_sha256_over_the_signing_input() {
        let token = sign_hs256(&json!({"alg": "HS256"}), &json!({"sub": "x"}), b"secret");
        let parsed = parse(&token).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(parsed.signing_input().as_bytes());
        assert!(mac.verify_slice(parsed.signature()).is_ok());
    }
}
