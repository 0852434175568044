use serde::{Deserialize, Serialize};

use super::algorithm::JwsAlgorithm;
use super::jwk::JwkSet;
use super::keys::PublicKey;

/// The OIDC discovery document kube-apiserver serves at `/.well-known/openid-configuration`:
/// exactly these five fields, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryDocument {
    pub issuer: String,
    pub jwks_uri: String,
    pub response_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
}

impl DiscoveryDocument {
    /// The document for `issuer`. `jwks_uri` defaults to the apiserver's own path,
    /// `<issuer>/openid/v1/jwks` (trailing slash of the issuer trimmed); algorithms are
    /// sorted and de-duplicated, as the apiserver lists them.
    pub fn new(issuer: &str, jwks_uri: Option<&str>, algorithms: &[impl AsRef<str>]) -> Self {
        let jwks_uri = jwks_uri
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}/openid/v1/jwks", issuer.trim_end_matches('/')));
        let mut algs: Vec<String> = algorithms.iter().map(|a| a.as_ref().to_owned()).collect();
        algs.sort();
        algs.dedup();
        Self {
            issuer: issuer.to_owned(),
            jwks_uri,
            response_types_supported: vec!["id_token".into()],
            subject_types_supported: vec!["public".into()],
            id_token_signing_alg_values_supported: algs,
        }
    }

    /// The document for an issuer publishing `keys`.
    pub fn for_keys(issuer: &str, jwks_uri: Option<&str>, keys: &[PublicKey]) -> Self {
        let algs: Vec<JwsAlgorithm> = keys.iter().map(PublicKey::algorithm).collect();
        let names: Vec<&str> = algs.iter().map(|a| a.as_str()).collect();
        Self::new(issuer, jwks_uri, &names)
    }
}

/// The JWKS for `keys`, as kube-apiserver's `/openid/v1/jwks` and the reference webhook's
/// keys.json helper print it. `with_empty_kid` appends a copy of the first key with
/// `"kid": ""`: exactly what the setup guide's `jq '.keys += [.keys[0]] | .keys[1].kid = ""'`
/// produces, so that pre-1.16 tokens (no kid) verify during an upgrade.
pub fn jwks(keys: &[PublicKey], with_empty_kid: bool) -> JwkSet {
    let mut set = JwkSet {
        keys: keys.iter().map(PublicKey::to_jwk).collect(),
    };
    if with_empty_kid && let Some(first) = set.keys.first().cloned() {
        set.keys.push(super::jwk::Jwk {
            kid: Some(String::new()),
            ..first
        });
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_has_apiserver_fields_in_order() {
        let doc =
            DiscoveryDocument::new("https://example.com/", None, &["RS256", "ES256", "RS256"]);
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            r#"{"issuer":"https://example.com/","jwks_uri":"https://example.com/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256","RS256"]}"#
        );
    }
}
