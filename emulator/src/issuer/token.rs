//! Tokens shaped exactly like kube-apiserver's, so a verifier cannot tell them apart from a
//! real apiserver's except for keys and times.
//!
//! Shape facts (pkg/serviceaccount/{jwt,claims,legacy}.go): the header is `{"alg","kid"}`
//! (no `typ`; no `kid` at all before 1.16); claims go through go-jose, which normalises them
//! through a JSON map, so keys come out sorted at every level; `aud` is always an array.
//! `serde_json::Value` without `preserve_order` sorts keys the same way.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};

use super::keys::PrivateKey;

/// Whether tokens carry a `kid` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KidMode {
    /// Kubernetes 1.16 and later: the SHA-256 key id of the signing key.
    #[default]
    Sha256,
    /// Before 1.16: no `kid` field at all.
    Omitted,
}

/// A reference to a Kubernetes object in the `kubernetes.io` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub name: String,
    pub uid: String,
}

impl ObjectRef {
    pub fn new(name: impl Into<String>, uid: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            uid: uid.into(),
        }
    }
}

/// What a TokenRequest for a projected volume produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundTokenRequest {
    /// The first `--service-account-issuer`.
    pub issuer: String,
    pub audiences: Vec<String>,
    pub namespace: String,
    pub service_account: ObjectRef,
    pub pod: Option<ObjectRef>,
    /// Present alongside `pod` since 1.32.
    pub node: Option<ObjectRef>,
    pub secret: Option<ObjectRef>,
    /// `iat` and `nbf` (Unix seconds).
    pub issued_at: i64,
    /// `exp` - `iat`.
    pub expiration_seconds: i64,
    /// `kubernetes.io.warnafter`, set only when the apiserver extended the expiration.
    pub warn_after: Option<i64>,
    /// `jti` (a UUID since 1.30); `None` emulates older apiservers.
    pub jti: Option<String>,
}

impl BoundTokenRequest {
    /// The claims object of the token.
    pub fn claims(&self) -> Value {
        let mut k8s = Map::new();
        k8s.insert("namespace".into(), self.namespace.clone().into());
        let obj = |r: &ObjectRef| json!({"name": r.name, "uid": r.uid});
        k8s.insert("serviceaccount".into(), obj(&self.service_account));
        if let Some(pod) = &self.pod {
            k8s.insert("pod".into(), obj(pod));
        }
        if let Some(node) = &self.node {
            k8s.insert("node".into(), obj(node));
        }
        if let Some(secret) = &self.secret {
            k8s.insert("secret".into(), obj(secret));
        }
        if let Some(warn_after) = self.warn_after {
            k8s.insert("warnafter".into(), warn_after.into());
        }
        let mut claims = json!({
            "aud": self.audiences,
            "exp": self.issued_at + self.expiration_seconds,
            "iat": self.issued_at,
            "iss": self.issuer,
            "kubernetes.io": k8s,
            "nbf": self.issued_at,
            "sub": format!("system:serviceaccount:{}:{}", self.namespace, self.service_account.name),
        });
        if let Some(jti) = &self.jti {
            claims["jti"] = jti.clone().into();
        }
        claims
    }
}

/// The header kube-apiserver writes for `key`.
pub fn header_for(key: &PrivateKey, kid: KidMode) -> Value {
    match kid {
        KidMode::Sha256 => json!({"alg": key.algorithm().as_str(), "kid": key.public_key().kid()}),
        KidMode::Omitted => json!({"alg": key.algorithm().as_str()}),
    }
}

/// Signs a projected (bound) service-account token.
pub fn sign_bound_token(request: &BoundTokenRequest, key: &PrivateKey, kid: KidMode) -> String {
    sign_raw(&header_for(key, kid), &request.claims(), key)
}

/// Signs a legacy Secret-based token: issuer `kubernetes/serviceaccount`, flat claims, no
/// `aud`, no `exp`.
pub fn sign_legacy_token(
    namespace: &str,
    secret_name: &str,
    service_account: &ObjectRef,
    key: &PrivateKey,
    kid: KidMode,
) -> String {
    let claims = json!({
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": secret_name,
        "kubernetes.io/serviceaccount/service-account.name": service_account.name,
        "kubernetes.io/serviceaccount/service-account.uid": service_account.uid,
        "sub": format!("system:serviceaccount:{namespace}:{}", service_account.name),
    });
    sign_raw(&header_for(key, kid), &claims, key)
}

/// Signs any header and claims with `key`, using the header's `alg` when the key can sign
/// with it (RSA keys: RS256/384/512), else the key's own algorithm. For tests and forgeries.
pub fn sign_raw(header: &Value, claims: &Value, key: &PrivateKey) -> String {
    let input = signing_input(header, claims);
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok());
    let signature = alg
        .and_then(|alg| key.sign_with(alg, input.as_bytes()))
        .unwrap_or_else(|| key.sign(input.as_bytes()));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An HS256 token with `secret` as the HMAC key: what the classic "sign with the public key
/// as an HMAC secret" forgery produces. Verifiers must never accept it.
pub fn sign_hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length.
        Err(_) => return input,
    };
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// kube-apiserver's `--service-account-extend-token-expiration` rule: only a pod-bound
/// token requested for exactly 3607 s whose every audience is one of the apiserver's own is
/// extended to a year, with `warnafter` at the requested expiry. IRSA tokens
/// (`sts.amazonaws.com`) are never extended unless that audience is an api-audience.
/// Returns `(expiration_seconds, warn_after_offset)`.
pub fn extended_expiration(
    requested: i64,
    audiences: &[String],
    api_audiences: &[String],
    pod_bound: bool,
    extend: bool,
) -> (i64, Option<i64>) {
    const LEGACY_EXPIRATION: i64 = 3607;
    const ONE_YEAR: i64 = 365 * 24 * 60 * 60;
    let all_api = !audiences.is_empty() && audiences.iter().all(|a| api_audiences.contains(a));
    if extend && pod_bound && requested == LEGACY_EXPIRATION && all_api {
        (ONE_YEAR, Some(requested))
    } else {
        (requested, None)
    }
}
