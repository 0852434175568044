//! Request logging must never print tokens or secrets.

/// Query parameters whose values are secret: web-identity tokens, signatures, session tokens.
const SECRET_PARAMS: &[&str] = &[
    "WebIdentityToken",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "X-Amz-Credential",
    "SAMLAssertion",
];

/// Returns `query` with the values of secret parameters replaced by `<redacted>`.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name)) => {
                format!("{name}=<redacted>")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_signatures_are_redacted() {
        let q = "Action=AssumeRoleWithWebIdentity&WebIdentityToken=eyJhbGciOi.x.y&X-Amz-Signature=abc&RoleSessionName=s";
        let r = redact_query(q);
        assert_eq!(
            r,
            "Action=AssumeRoleWithWebIdentity&WebIdentityToken=<redacted>&X-Amz-Signature=<redacted>&RoleSessionName=s"
        );
        assert!(!r.contains("eyJ"));
    }
}
