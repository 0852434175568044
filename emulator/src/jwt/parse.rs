use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Why a string is not a compact JWS. Each variant names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("a JWT has 3 dot-separated parts, this has {0}")]
    WrongPartCount(usize),
    #[error("the {0} part is empty")]
    EmptyPart(&'static str),
    #[error("the {part} part is not unpadded base64url: {detail}")]
    BadBase64 { part: &'static str, detail: String },
    #[error("the {part} part is not JSON: {detail}")]
    BadJson { part: &'static str, detail: String },
    #[error("the {0} part is JSON but not an object")]
    NotAnObject(&'static str),
    #[error("the header has no string \"alg\"")]
    MissingAlg,
    #[error("the header's \"kid\" is not a string")]
    KidNotString,
}

/// The JOSE header, with `kid` absent (`None`) kept apart from empty (`Some("")`).
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
    /// Every header field as sent (for diagnosis; never used to find keys).
    pub raw: Map<String, Value>,
}

/// A token that parsed but whose signature has not been checked: nothing in it is trusted.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedToken {
    pub header: Header,
    pub claims: Map<String, Value>,
    signing_input_len: usize,
    text: String,
    signature: Vec<u8>,
}

impl UnverifiedToken {
    /// `base64url(header) "." base64url(claims)`: the bytes the signature covers.
    pub fn signing_input(&self) -> &[u8] {
        &self.text.as_bytes()[..self.signing_input_len]
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

fn decode(part: &'static str, text: &str) -> Result<Vec<u8>, ParseError> {
    if text.is_empty() {
        return Err(ParseError::EmptyPart(part));
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| ParseError::BadBase64 {
            part,
            detail: e.to_string(),
        })
}

fn object(part: &'static str, bytes: &[u8]) -> Result<Map<String, Value>, ParseError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ParseError::NotAnObject(part)),
        Err(e) => Err(ParseError::BadJson {
            part,
            detail: e.to_string(),
        }),
    }
}

/// Parses a compact JWS (`header.claims.signature`). The signature part may not be empty:
/// an unsigned token is not a JWT STS would look at.
pub fn parse(token: &str) -> Result<UnverifiedToken, ParseError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts.as_slice() else {
        return Err(ParseError::WrongPartCount(parts.len()));
    };
    let header_raw = object("header", &decode("header", header_b64)?)?;
    let claims = object("claims", &decode("claims", claims_b64)?)?;
    let signature = decode("signature", signature_b64)?;
    let alg = header_raw
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(ParseError::MissingAlg)?
        .to_owned();
    let kid = match header_raw.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(ParseError::KidNotString),
    };
    Ok(UnverifiedToken {
        header: Header {
            alg,
            kid,
            raw: header_raw,
        },
        claims,
        signing_input_len: header_b64.len() + 1 + claims_b64.len(),
        text: token.to_owned(),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(claims), b64("sig"))
    }

    #[test]
    fn parses_header_claims_and_signing_input() {
        let t = token(
            r#"{"alg":"RS256","kid":"k1"}"#,
            r#"{"iss":"https://x","aud":["a"]}"#,
        );
        let parsed = parse(&t).unwrap();
        assert_eq!(parsed.header.alg, "RS256");
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.claims["iss"], "https://x");
        assert_eq!(parsed.signature(), b"sig");
        assert_eq!(
            parsed.signing_input(),
            t.rsplit_once('.').unwrap().0.as_bytes()
        );
    }

    #[test]
    fn missing_and_empty_kid_differ() {
        assert_eq!(
            parse(&token(r#"{"alg":"RS256"}"#, "{}"))
                .unwrap()
                .header
                .kid,
            None
        );
        assert_eq!(
            parse(&token(r#"{"alg":"RS256","kid":""}"#, "{}"))
                .unwrap()
                .header
                .kid
                .as_deref(),
            Some("")
        );
    }

    #[test]
    fn every_malformation_has_its_error() {
        let h = b64(r#"{"alg":"RS256"}"#);
        let c = b64("{}");
        let cases: Vec<(String, ParseError)> = vec![
            (format!("{h}.{c}"), ParseError::WrongPartCount(2)),
            (format!("{h}.{c}.c2ln.x"), ParseError::WrongPartCount(4)),
            (format!("{h}.{c}."), ParseError::EmptyPart("signature")),
            (format!(".{c}.c2ln"), ParseError::EmptyPart("header")),
            (
                format!("{h}=.{c}.c2ln"),
                ParseError::BadBase64 {
                    part: "header",
                    detail: String::new(),
                },
            ),
            (
                format!("{h}.{c}.c2l+"),
                ParseError::BadBase64 {
                    part: "signature",
                    detail: String::new(),
                },
            ),
            (
                format!("{}.{c}.c2ln", b64("not json")),
                ParseError::BadJson {
                    part: "header",
                    detail: String::new(),
                },
            ),
            (
                format!("{h}.{}.c2ln", b64("[1]")),
                ParseError::NotAnObject("claims"),
            ),
            (
                format!("{}.{c}.c2ln", b64(r#"{"kid":"x"}"#)),
                ParseError::MissingAlg,
            ),
            (
                format!("{}.{c}.c2ln", b64(r#"{"alg":"RS256","kid":7}"#)),
                ParseError::KidNotString,
            ),
        ];
        for (input, expected) in cases {
            let got = parse(&input).unwrap_err();
            // Details come from the decoders; compare the variant and its part.
            assert_eq!(
                std::mem::discriminant(&got),
                std::mem::discriminant(&expected),
                "{input}: {got}"
            );
            assert_eq!(
                got.to_string().split(':').next(),
                expected.to_string().split(':').next(),
                "{input}"
            );
        }
    }
}
