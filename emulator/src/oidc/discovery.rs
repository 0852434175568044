//! Discovery document, then JWKS: the two fetches behind every uncached key lookup.

use serde_json::Value;

use super::errors::KeyRetrievalError;
use super::fetch::{Fetcher, ServedBy};
use super::settings::IssuerFieldCheck;
use crate::issuer::JwkSet;

/// What an issuer publishes, as fetched.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub jwks: JwkSet,
    pub jwks_uri: String,
    pub served_by: ServedBy,
    pub warnings: Vec<String>,
}

/// Where the discovery document of `iss` lives: the issuer with any trailing `/` removed,
/// then `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, section 4).
pub fn discovery_url(iss: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        iss.trim_end_matches('/')
    )
}

pub(crate) async fn fetch_published(
    fetcher: &Fetcher,
    iss: &str,
) -> Result<Published, KeyRetrievalError> {
    let url = discovery_url(iss);
    let doc = fetcher
        .get(&url)
        .await
        .map_err(KeyRetrievalError::DiscoveryFetch)?;
    let bad = |problem: String| KeyRetrievalError::BadDiscovery {
        url: url.clone(),
        problem,
    };
    let json: Value =
        serde_json::from_slice(&doc.body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| bad("not a JSON object".into()))?;
    // AWS requires the fields that locate the keys; the others kube-apiserver sends
    // (response_types_supported, ...) are not needed to verify a token.
    let issuer = obj
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing the required string field \"issuer\"".into()))?;
    let jwks_uri = obj
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing the required string field \"jwks_uri\"".into()))?;
    let mut warnings = Vec::new();
    if issuer != iss {
        match fetcher.settings().issuer_field_check {
            IssuerFieldCheck::Strict => {
                return Err(KeyRetrievalError::IssuerMismatch { token: iss.to_owned(), document: issuer.to_owned() });
            }
            IssuerFieldCheck::Lenient => warnings.push(format!(
                "discovery document at {url} says issuer {issuer:?} but tokens say {iss:?}; accepted (lenient), a strict verifier would reject it"
            )),
        }
    }
    let keys = fetcher
        .get(jwks_uri)
        .await
        .map_err(KeyRetrievalError::JwksFetch)?;
    let bad_jwks = |problem: String| KeyRetrievalError::BadJwks {
        url: jwks_uri.to_owned(),
        problem,
    };
    let jwks: JwkSet =
        serde_json::from_slice(&keys.body).map_err(|e| bad_jwks(format!("not a JWK set: {e}")))?;
    // The weaker of the two connections decides what a thumbprint check sees.
    let served_by = match (&doc.served_by, &keys.served_by) {
        (ServedBy::PlainHttp, _) | (_, ServedBy::PlainHttp) => ServedBy::PlainHttp,
        (ServedBy::CustomCa { .. }, _) => doc.served_by.clone(),
        (_, other) => other.clone(),
    };
    Ok(Published {
        jwks,
        jwks_uri: jwks_uri.to_owned(),
        served_by,
        warnings,
    })
}
