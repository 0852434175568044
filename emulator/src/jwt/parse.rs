use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use thiserror::Error;

/// The three parts of a compact JWS, for naming the one at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Header,
    Payload,
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

/// Why a string is not a well-formed compact JWS with JSON header and claims.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("a JWT has 3 dot-separated parts, this has {0}")]
    WrongPartCount(usize),
    #[error("the JWT {0} is empty")]
    EmptyPart(Part),
    #[error("the JWT {part} is not unpadded base64url: {reason}")]
    Base64 { part: Part, reason: String },
    #[error("the JWT {part} is not JSON: {reason}")]
    NotJson { part: Part, reason: String },
    #[error("the JWT header is not a JSON object")]
    HeaderNotObject,
    #[error("the JWT header has no \"alg\"")]
    MissingAlg,
    #[error("the JWT header \"alg\" is not a string")]
    AlgNotString,
    #[error("the JWT header \"kid\" is not a string")]
    KidNotString,
    #[error("the JWT payload is not a JSON object")]
    ClaimsNotObject,
    /// RFC 7515 §4.1.11: a recipient must refuse a JWS whose `crit` names an extension it
    /// does not understand. We understand none (not even `b64`, RFC 7797), and a `crit`
    /// that is empty or not a list is invalid in itself, so any `crit` is refused.
    #[error(
        "the JWT header has \"crit\": {0}; no critical header extension is supported (RFC 7515 section 4.1.11)"
    )]
    CriticalHeader(String),
}

/// The JOSE header. `kid` keeps absent (`None`) apart from empty (`Some("")`) so callers
/// can report what the token really said; for key lookup AWS treats both as `""`, which
/// matches only a JWK whose `kid` is `""` (see [`crate::issuer::JwkSet::find`]).
///
/// `jku`, `x5u`, `jwk` and `x5c` stay in `raw` only: they are never fetched or trusted.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
    pub raw: Map<String, Value>,
}

/// A syntactically valid token whose signature and claims have not been checked yet.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedToken {
    pub header: Header,
    pub claims: Map<String, Value>,
    signing_input_len: usize,
    token: String,
    signature: Vec<u8>,
}

impl UnverifiedToken {
    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    pub fn signing_input(&self) -> &str {
        &self.token[..self.signing_input_len]
    }

    /// The decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

/// Splits and decodes a compact JWS. Each failure names the part at fault.
pub fn parse(token: &str) -> Result<UnverifiedToken, ParseError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(ParseError::WrongPartCount(parts.len()));
    };
    let header_bytes = decode(Part::Header, header_b64)?;
    let payload_bytes = decode(Part::Payload, payload_b64)?;
    let signature = decode(Part::Signature, signature_b64)?;

    let Value::Object(raw) = json(Part::Header, &header_bytes)? else {
        return Err(ParseError::HeaderNotObject);
    };
    let alg = match raw.get("alg") {
        None => return Err(ParseError::MissingAlg),
        Some(Value::String(alg)) => alg.clone(),
        Some(_) => return Err(ParseError::AlgNotString),
    };
    let kid = match raw.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(ParseError::KidNotString),
    };
    if let Some(crit) = raw.get("crit") {
        return Err(ParseError::CriticalHeader(crit.to_string()));
    }
    let Value::Object(claims) = json(Part::Payload, &payload_bytes)? else {
        return Err(ParseError::ClaimsNotObject);
    };
    Ok(UnverifiedToken {
        header: Header { alg, kid, raw },
        claims,
        signing_input_len: header_b64.len() + 1 + payload_b64.len(),
        token: token.to_string(),
        signature,
    })
}

fn decode(part: Part, text: &str) -> Result<Vec<u8>, ParseError> {
    if text.is_empty() {
        return Err(ParseError::EmptyPart(part));
    }
    // Said explicitly because "invalid padding" alone puzzles people pasting padded base64.
    if text.contains('=') {
        return Err(ParseError::Base64 {
            part,
            reason: "padding '=' is not allowed in a compact JWS".into(),
        });
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| ParseError::Base64 {
            part,
            reason: e.to_string(),
        })
}

fn json(part: Part, bytes: &[u8]) -> Result<Value, ParseError> {
    serde_json::from_slice(bytes).map_err(|e| ParseError::NotJson {
        part,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    #[test]
    fn parses_header_claims_and_signature() {
        let t = token(
            r#"{"alg":"RS256","kid":"k1","jku":"https://evil"}"#,
            r#"{"sub":"s"}"#,
        );
        let parsed = parse(&t).unwrap();
        assert_eq!(parsed.header.alg, "RS256");
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        assert_eq!(
            parsed.header.raw.get("jku"),
            Some(&Value::from("https://evil"))
        );
        assert_eq!(parsed.claims.get("sub"), Some(&Value::from("s")));
        assert_eq!(parsed.signature(), b"sig");
        assert_eq!(
            Some(parsed.signing_input()),
            t.rsplit_once('.').map(|(i, _)| i)
        );
    }

    #[test]
    fn any_crit_header_is_refused() {
        for crit in [r#"["exp"]"#, r#"["b64"]"#, "[]", r#""exp""#, "null"] {
            let t = token(&format!(r#"{{"alg":"RS256","crit":{crit}}}"#), "{}");
            assert_eq!(
                parse(&t),
                Err(ParseError::CriticalHeader(
                    serde_json::from_str::<Value>(crit).unwrap().to_string()
                )),
                "{crit}"
            );
        }
    }

    #[test]
    fn absent_and_empty_kid_stay_distinct() {
        let absent = parse(&token(r#"{"alg":"RS256"}"#, "{}")).unwrap();
        let empty = parse(&token(r#"{"alg":"RS256","kid":""}"#, "{}")).unwrap();
        assert_eq!(absent.header.kid, None);
        assert_eq!(empty.header.kid, Some(String::new()));
    }

    #[test]
    fn part_count_must_be_three() {
        let good = token(r#"{"alg":"RS256"}"#, "{}");
        let two = good.rsplit_once('.').unwrap().0.to_string();
        assert_eq!(parse(&two), Err(ParseError::WrongPartCount(2)));
        assert_eq!(
            parse(&format!("{good}.x")),
            Err(ParseError::WrongPartCount(4))
        );
        assert_eq!(parse("abc"), Err(ParseError::WrongPartCount(1)));
        assert_eq!(parse(""), Err(ParseError::WrongPartCount(1)));
    }

    #[test]
    fn empty_parts_are_named() {
        let h = b64(r#"{"alg":"RS256"}"#);
        assert_eq!(parse(".e30.c2ln"), Err(ParseError::EmptyPart(Part::Header)));
        assert_eq!(
            parse(&format!("{h}..c2ln")),
            Err(ParseError::EmptyPart(Part::Payload))
        );
        assert_eq!(
            parse(&format!("{h}.e30.")),
            Err(ParseError::EmptyPart(Part::Signature))
        );
    }

    #[test]
    fn bad_base64url_is_named_by_part() {
        let h = b64(r#"{"alg":"RS256"}"#);
        let cases = [
            (format!("{h}=.e30.c2ln"), Part::Header, "padding"),
            (format!("{h}.e30=.c2ln"), Part::Payload, "padding"),
            (format!("{h}.e30.c2ln="), Part::Signature, "padding"),
            // Standard-alphabet characters are not base64url.
            (format!("{h}.e3+/.c2ln"), Part::Payload, "Invalid"),
            (format!("{h}.e30.c2l*"), Part::Signature, "Invalid"),
        ];
        for (text, part, needle) in cases {
            match parse(&text) {
                Err(ParseError::Base64 { part: p, reason }) => {
                    assert_eq!(p, part, "{text}");
                    assert!(reason.contains(needle), "{reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        let err = parse(&format!("{h}.e30=.c2ln")).unwrap_err().to_string();
        assert!(err.contains("payload"), "{err}");
    }

    #[test]
    fn non_json_and_wrong_shapes_are_distinct_errors() {
        assert!(matches!(
            parse(&token("not json", "{}")),
            Err(ParseError::NotJson {
                part: Part::Header,
                ..
            })
        ));
        assert!(matches!(
            parse(&token(r#"{"alg":"RS256"}"#, "{nope")),
            Err(ParseError::NotJson {
                part: Part::Payload,
                ..
            })
        ));
        assert_eq!(
            parse(&token(r#"["RS256"]"#, "{}")),
            Err(ParseError::HeaderNotObject)
        );
        assert_eq!(
            parse(&token(r#"{"kid":"k"}"#, "{}")),
            Err(ParseError::MissingAlg)
        );
        assert_eq!(
            parse(&token(r#"{"alg":256}"#, "{}")),
            Err(ParseError::AlgNotString)
        );
        assert_eq!(
            parse(&token(r#"{"alg":"RS256","kid":7}"#, "{}")),
            Err(ParseError::KidNotString)
        );
        assert_eq!(
            parse(&token(r#"{"alg":"RS256"}"#, r#""a string""#)),
            Err(ParseError::ClaimsNotObject)
        );
    }
}
