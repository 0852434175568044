//! The claims of the projected token that explain STS's answer, read without verifying (STS
//! verifies; this only shows what was sent). The signature and the token text are never kept.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("failed to read the token file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the token file {path} does not hold a JWT (expected three dot-separated parts)")]
    NotAJwt { path: String },
    #[error("the token's claims in {path} are not base64url JSON: {reason}")]
    Claims { path: String, reason: String },
}

/// What STS will look at, in the token the kubelet wrote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenSummary {
    pub iss: Option<String>,
    pub aud: Vec<String>,
    pub sub: Option<String>,
    /// `exp - iat`, the lifetime the kubelet asked for (expirationSeconds).
    pub lifetime_seconds: Option<i64>,
    /// The `kubernetes.io.node.name` claim: present on tokens a real kubelet requested for a
    /// scheduled pod.
    pub node: Option<String>,
    pub kid: Option<String>,
}

impl TokenSummary {
    pub fn read(path: &std::path::Path) -> Result<Self, TokenError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TokenError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Self::parse(text.trim(), &shown)
    }

    pub fn parse(jwt: &str, path: &str) -> Result<Self, TokenError> {
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, claims, _signature] = parts.as_slice() else {
            return Err(TokenError::NotAJwt { path: path.into() });
        };
        let decode = |part: &str| -> Result<Value, TokenError> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|e| TokenError::Claims {
                    path: path.into(),
                    reason: e.to_string(),
                })?;
            serde_json::from_slice(&bytes).map_err(|e| TokenError::Claims {
                path: path.into(),
                reason: e.to_string(),
            })
        };
        let header = decode(header)?;
        let claims = decode(claims)?;
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let aud = match &claims["aud"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many.iter().filter_map(text).collect(),
            _ => Vec::new(),
        };
        let lifetime_seconds = match (claims["exp"].as_i64(), claims["iat"].as_i64()) {
            (Some(exp), Some(iat)) => Some(exp - iat),
            _ => None,
        };
        Ok(Self {
            iss: text(&claims["iss"]),
            aud,
            sub: text(&claims["sub"]),
            lifetime_seconds,
            node: text(&claims["kubernetes.io"]["node"]["name"]),
            kid: text(&header["kid"]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn a_kubelet_token_shows_its_node_and_lifetime() {
        let token = jwt(
            r#"{"alg":"RS256","kid":"abc"}"#,
            r#"{"aud":["sts.amazonaws.com"],"exp":1700086400,"iat":1700000000,"iss":"https://s3.us-east-1.amazonaws.com/oidc-test","kubernetes.io":{"namespace":"default","node":{"name":"irsa-control-plane","uid":"n1"},"pod":{"name":"p","uid":"u"}},"sub":"system:serviceaccount:default:app"}"#,
        );
        let summary = TokenSummary::parse(&token, "t").unwrap();
        assert_eq!(summary.node.as_deref(), Some("irsa-control-plane"));
        assert_eq!(summary.lifetime_seconds, Some(86400));
        assert_eq!(summary.aud, vec!["sts.amazonaws.com".to_owned()]);
        assert_eq!(summary.kid.as_deref(), Some("abc"));
    }

    #[test]
    fn a_string_audience_is_one_audience() {
        let token = jwt(r#"{"alg":"RS256"}"#, r#"{"aud":"sts.amazonaws.com"}"#);
        let summary = TokenSummary::parse(&token, "t").unwrap();
        assert_eq!(summary.aud, vec!["sts.amazonaws.com".to_owned()]);
        assert_eq!(summary.kid, None);
        assert_eq!(summary.node, None);
    }

    #[test]
    fn text_that_is_not_a_jwt_is_named_as_such() {
        assert_eq!(
            TokenSummary::parse("not-a-token", "/t"),
            Err(TokenError::NotAJwt { path: "/t".into() })
        );
    }

    #[test]
    fn claims_that_are_not_json_are_reported_with_the_path() {
        let err = TokenSummary::parse("e30.bm90IGpzb24.c2ln", "/t").unwrap_err();
        assert!(
            matches!(&err, TokenError::Claims { path, .. } if path == "/t"),
            "{err:?}"
        );
    }

    #[test]
    fn a_missing_file_is_a_read_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent");
        let err = TokenSummary::read(&path).unwrap_err();
        assert!(
            matches!(&err, TokenError::Read { path: p, .. } if p == &path.display().to_string()),
            "{err:?}"
        );
    }
}
