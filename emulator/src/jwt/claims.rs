use serde_json::Value;
use thiserror::Error;

use super::UnverifiedToken;

/// A claim present but of the wrong JSON type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClaimError {
    #[error("claim {claim:?} must be a string")]
    NotString { claim: String },
    #[error("claim \"aud\" must be a string or an array of strings")]
    BadAudience,
    #[error(
        "claim {claim:?} must be an integer number of seconds in the signed 64-bit range, got {found}"
    )]
    NotIntegerDate { claim: String, found: String },
}

impl UnverifiedToken {
    /// A string claim; `Ok(None)` when absent, an error when present but not a string.
    pub fn string_claim(&self, name: &str) -> Result<Option<&str>, ClaimError> {
        match self.claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ClaimError::NotString {
                claim: name.to_string(),
            }),
        }
    }

    /// `iss`.
    pub fn issuer(&self) -> Result<Option<&str>, ClaimError> {
        self.string_claim("iss")
    }

    /// `sub`.
    pub fn subject(&self) -> Result<Option<&str>, ClaimError> {
        self.string_claim("sub")
    }

    /// `azp`.
    pub fn authorized_party(&self) -> Result<Option<&str>, ClaimError> {
        self.string_claim("azp")
    }

    /// `aud` as a list: a single string becomes one element (RFC 7519 §4.1.3 allows both
    /// forms; kube-apiserver always sends an array); `Ok(empty)` when absent; any other
    /// JSON type, or a non-string element, is an error.
    pub fn audiences(&self) -> Result<Vec<&str>, ClaimError> {
        match self.claims.get("aud") {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.as_str()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().ok_or(ClaimError::BadAudience))
                .collect(),
            Some(_) => Err(ClaimError::BadAudience),
        }
    }

    /// A NumericDate claim (`exp`, `iat`, `nbf`): must be a JSON integer that fits in an
    /// `i64`. `1.5`, `1e9`, `"123"` and `18446744073709551615` are errors, matching AWS's
    /// "timestamps must be integers"; callers compare with saturating arithmetic, since
    /// `i64::MAX` is allowed.
    pub fn numeric_date(&self, name: &str) -> Result<Option<i64>, ClaimError> {
        let Some(value) = self.claims.get(name) else {
            return Ok(None);
        };
        value
            .as_i64()
            .map(Some)
            .ok_or_else(|| ClaimError::NotIntegerDate {
                claim: name.to_string(),
                found: value.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::jwt::parse;

    fn with_claims(claims: &str) -> UnverifiedToken {
        let token = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        );
        parse(&token).unwrap()
    }

    #[test]
    fn audience_accepts_a_string_or_an_array_of_strings() {
        assert_eq!(with_claims(r#"{"aud":"a"}"#).audiences(), Ok(vec!["a"]));
        assert_eq!(
            with_claims(r#"{"aud":["a","b"]}"#).audiences(),
            Ok(vec!["a", "b"])
        );
        assert_eq!(with_claims(r#"{"aud":[]}"#).audiences(), Ok(vec![]));
        // Absent and empty read the same: either way no audience can match.
        assert_eq!(with_claims("{}").audiences(), Ok(vec![]));
        for bad in [
            r#"{"aud":1}"#,
            r#"{"aud":["a",1]}"#,
            r#"{"aud":{"a":1}}"#,
            r#"{"aud":null}"#,
        ] {
            assert_eq!(
                with_claims(bad).audiences(),
                Err(ClaimError::BadAudience),
                "{bad}"
            );
        }
    }

    #[test]
    fn numeric_dates_must_be_integers() {
        let t = with_claims(r#"{"exp":1700000000,"iat":1.5,"nbf":"123","a":1e9,"b":-5}"#);
        assert_eq!(t.numeric_date("exp"), Ok(Some(1_700_000_000)));
        assert_eq!(t.numeric_date("b"), Ok(Some(-5)));
        assert_eq!(t.numeric_date("missing"), Ok(None));
        for claim in ["iat", "nbf", "a"] {
            assert!(
                matches!(t.numeric_date(claim), Err(ClaimError::NotIntegerDate { claim: c, .. }) if c == claim),
                "{claim}"
            );
        }
        let huge = with_claims(r#"{"exp":18446744073709551615}"#);
        assert!(huge.numeric_date("exp").is_err());
    }

    #[test]
    fn string_claims_are_typed() {
        let t = with_claims(r#"{"iss":"https://i","sub":7,"azp":"client"}"#);
        assert_eq!(t.issuer(), Ok(Some("https://i")));
        assert_eq!(t.authorized_party(), Ok(Some("client")));
        assert_eq!(
            t.subject(),
            Err(ClaimError::NotString {
                claim: "sub".into()
            })
        );
        assert_eq!(with_claims("{}").issuer(), Ok(None));
    }
}
