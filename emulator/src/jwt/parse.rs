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
}

/// The JOSE header. `kid` distinguishes absent (`None`) from empty (`Some("")`), which
/// AWS STS treats differently from any real key ID but the same as each other for lookup
/// (see [`crate::issuer::JwkSet::find`]).
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
