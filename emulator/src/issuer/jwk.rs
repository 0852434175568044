use serde::{Deserialize, Serialize};

/// One JSON Web Key as issuers publish it.
///
/// Field order is kube-apiserver's, which is go-jose's `rawJSONWebKey` order
/// (`use, kty, kid, crv, alg, x, y, n, e`): RSA keys read `use, kty, kid, alg, n, e` and EC
/// keys `use, kty, kid, crv, alg, x, y`, exactly like the JWKS `/openid/v1/jwks` serves.
///
/// `kid` keeps the difference between absent (`None`) and empty (`Some("")`): AWS STS
/// matches a token without `kid` only against a JWK whose `kid` is the empty string, and
/// a JWK without a `kid` field is unusable. Unknown members are kept in `extra` so a
/// customer's JWKS round-trips unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A JWK Set: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Keys whose `kid` equals `kid` exactly. A token without a `kid` header is looked up
    /// with `kid = ""` (AWS's rule), which matches only `"kid": ""`, never a missing `kid`.
    pub fn find<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.kid.as_deref() == Some(kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_kid_and_missing_kid_stay_distinct() {
        let set: JwkSet = serde_json::from_str(
            r#"{"keys":[{"kty":"RSA","kid":"","n":"x","e":"AQAB"},{"kty":"RSA","n":"y","e":"AQAB"}]}"#,
        )
        .unwrap();
        let found: Vec<_> = set.find("").collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].n.as_deref(), Some("x"));
    }

    #[test]
    fn serialises_in_apiserver_field_order() {
        let jwk = Jwk {
            use_: Some("sig".into()),
            kty: "RSA".into(),
            kid: Some("k".into()),
            alg: Some("RS256".into()),
            n: Some("n".into()),
            e: Some("AQAB".into()),
            crv: None,
            x: None,
            y: None,
            extra: Default::default(),
        };
        assert_eq!(
            serde_json::to_string(&jwk).unwrap(),
            r#"{"use":"sig","kty":"RSA","kid":"k","alg":"RS256","n":"n","e":"AQAB"}"#
        );
    }
}
