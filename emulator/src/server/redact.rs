//! Request logging must never print tokens or secrets.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// Query parameters whose values are secret: web-identity tokens, signatures, session tokens.
const SECRET_PARAMS: &[&str] = &[
    "WebIdentityToken",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "X-Amz-Credential",
    "SAMLAssertion",
];

/// A parameter name as the query parser reads it (`application/x-www-form-urlencoded`:
/// `+` is a space, then percent-decoding), so `WebIdentity%54oken` is `WebIdentityToken`.
fn decoded_name(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['%', '+']) {
        return Cow::Borrowed(raw);
    }
    let plus_decoded = raw.replace('+', " ");
    Cow::Owned(
        percent_decode_str(&plus_decoded)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn is_secret(raw_name: &str) -> bool {
    let name = decoded_name(raw_name);
    SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(&name))
}

/// Returns `query` with the values of secret parameters replaced by `<redacted>`. Names
/// are compared after form decoding, exactly as the request's parser will read them.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => format!("{name}=<redacted>"),
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

    #[test]
    fn percent_encoded_names_are_redacted() {
        for name in [
            "WebIdentity%54oken",
            "%57%65%62%49%64%65%6E%74%69%74%79%54%6F%6B%65%6E",
            "webidentitytoken",
            "X-Amz-Security%2DToken",
        ] {
            let r = redact_query(&format!("Action=A&{name}=eyJsecret"));
            assert_eq!(r, format!("Action=A&{name}=<redacted>"));
        }
        // Only what the parser would read as a secret's name: a space is part of a name.
        assert_eq!(redact_query("WebIdentity+Token=x"), "WebIdentity+Token=x");
    }
}
