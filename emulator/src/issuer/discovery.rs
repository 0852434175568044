use serde::{Deserialize, Serialize};

use super::{JwsAlgorithm, PublicKey};

/// `/.well-known/openid-configuration` exactly as kube-apiserver serves it: these five
/// members, in this order, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryDocument {
    pub issuer: String,
    pub jwks_uri: String,
    pub response_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
}

impl DiscoveryDocument {
    /// A document for `issuer`. Without `jwks_uri`, it is the issuer with trailing `/`
    /// trimmed plus `/openid/v1/jwks` (the self-hosted layout: JWKS next to discovery).
    /// `algs` (names or [`JwsAlgorithm`]s) are sorted and deduplicated, as kube-apiserver
    /// lists its keys' algorithms.
    pub fn new(issuer: &str, jwks_uri: Option<&str>, algs: &[impl AsRef<str>]) -> Self {
        let jwks_uri = match jwks_uri {
            Some(uri) => uri.to_string(),
            None => format!("{}/openid/v1/jwks", issuer.trim_end_matches('/')),
        };
        let mut names: Vec<String> = algs.iter().map(|a| a.as_ref().to_string()).collect();
        names.sort();
        names.dedup();
        DiscoveryDocument {
            issuer: issuer.to_string(),
            jwks_uri,
            response_types_supported: vec!["id_token".into()],
            subject_types_supported: vec!["public".into()],
            id_token_signing_alg_values_supported: names,
        }
    }

    /// A document advertising the algorithms of `keys` (what kube-apiserver derives from
    /// its `--service-account-key-file` keys).
    pub fn for_keys(issuer: &str, jwks_uri: Option<&str>, keys: &[PublicKey]) -> Self {
        let algs: Vec<JwsAlgorithm> = keys.iter().map(PublicKey::algorithm).collect();
        Self::new(issuer, jwks_uri, &algs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_in_apiserver_order_with_sorted_unique_algs() {
        let doc = DiscoveryDocument::new(
            "https://bucket.s3.amazonaws.com/",
            None,
            &[
                JwsAlgorithm::RS256,
                JwsAlgorithm::ES256,
                JwsAlgorithm::RS256,
            ],
        );
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            concat!(
                r#"{"issuer":"https://bucket.s3.amazonaws.com/","#,
                r#""jwks_uri":"https://bucket.s3.amazonaws.com/openid/v1/jwks","#,
                r#""response_types_supported":["id_token"],"#,
                r#""subject_types_supported":["public"],"#,
                r#""id_token_signing_alg_values_supported":["ES256","RS256"]}"#
            )
        );
    }

    #[test]
    fn for_keys_lists_each_keys_algorithm_once() {
        use crate::issuer::{KeyAlgorithm, PrivateKey};
        let keys: Vec<PublicKey> = [
            KeyAlgorithm::EcP521,
            KeyAlgorithm::EcP256,
            KeyAlgorithm::EcP256,
        ]
        .into_iter()
        .map(|a| PrivateKey::generate(a).public_key())
        .collect();
        let doc = DiscoveryDocument::for_keys("https://i", None, &keys);
        assert_eq!(
            doc.id_token_signing_alg_values_supported,
            ["ES256", "ES512"]
        );
        assert_eq!(doc.jwks_uri, "https://i/openid/v1/jwks");
    }

    #[test]
    fn explicit_jwks_uri_is_kept_verbatim() {
        let doc = DiscoveryDocument::new("https://i", Some("https://k/keys.json"), &["RS256"]);
        assert_eq!(doc.jwks_uri, "https://k/keys.json");
        assert_eq!(doc.id_token_signing_alg_values_supported, ["RS256"]);
    }
}
