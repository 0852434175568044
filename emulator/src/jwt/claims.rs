//! Typed access to the claims STS reads. Nothing here is trusted until the signature is.

use serde_json::Value;

use super::parse::UnverifiedToken;

/// Why a claim is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("missing claim {0:?}")]
    Missing(&'static str),
    #[error("claim {0:?} must be a string")]
    NotAString(&'static str),
    #[error("claim \"aud\" must be a string or an array of strings")]
    BadAudience,
    #[error("claim {0:?} must be an integer number of seconds")]
    NotAnInteger(&'static str),
}

impl UnverifiedToken {
    /// A string claim; `Ok(None)` when absent.
    pub fn string_claim(&self, name: &'static str) -> Result<Option<&str>, ClaimError> {
        match self.claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ClaimError::NotAString(name)),
        }
    }

    /// `aud` as a list: a single string or an array of strings (kube-apiserver always
    /// sends an array; other issuers send a string). `Ok(empty)` when absent.
    pub fn audiences(&self) -> Result<Vec<&str>, ClaimError> {
        match self.claims.get("aud") {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().ok_or(ClaimError::BadAudience))
                .collect(),
            Some(_) => Err(ClaimError::BadAudience),
        }
    }

    /// A NumericDate claim (`exp`, `nbf`, `iat`) that must be an integer; `Ok(None)` when
    /// absent. `1.5`, `"123"` and `1e3` are errors.
    pub fn numeric_date(&self, name: &'static str) -> Result<Option<i64>, ClaimError> {
        match self.claims.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(ClaimError::NotAnInteger(name)),
            Some(_) => Err(ClaimError::NotAnInteger(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn with_claims(claims: &str) -> super::UnverifiedToken {
        let t = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        );
        parse(&t).unwrap()
    }

    #[test]
    fn audience_forms() {
        assert_eq!(
            with_claims(r#"{"aud":"a"}"#).audiences().unwrap(),
            vec!["a"]
        );
        assert_eq!(
            with_claims(r#"{"aud":["a","b"]}"#).audiences().unwrap(),
            vec!["a", "b"]
        );
        assert!(with_claims(r#"{}"#).audiences().unwrap().is_empty());
        assert!(with_claims(r#"{"aud":[1]}"#).audiences().is_err());
        assert!(with_claims(r#"{"aud":{"a":1}}"#).audiences().is_err());
    }

    #[test]
    fn numeric_dates_must_be_integers() {
        assert_eq!(
            with_claims(r#"{"exp":1700000000}"#)
                .numeric_date("exp")
                .unwrap(),
            Some(1_700_000_000)
        );
        assert_eq!(with_claims(r#"{}"#).numeric_date("exp").unwrap(), None);
        for bad in [
            r#"{"exp":1.5}"#,
            r#"{"exp":"1"}"#,
            r#"{"exp":1e3}"#,
            r#"{"exp":null}"#,
        ] {
            assert!(with_claims(bad).numeric_date("exp").is_err(), "{bad}");
        }
    }

    #[test]
    fn string_claims() {
        let t = with_claims(r#"{"sub":"s","azp":5}"#);
        assert_eq!(t.string_claim("sub").unwrap(), Some("s"));
        assert_eq!(t.string_claim("iss").unwrap(), None);
        assert!(t.string_claim("azp").is_err());
    }
}
