//! Which payload hash the canonical request ends with, and whether the body received is
//! the one that was signed.
//!
//! The hash is always the hash of the body actually received, with one exception S3
//! allows: a signed `x-amz-content-sha256` that says the payload is unsigned or streamed
//! (then each chunk is signed instead). An unsigned `x-amz-content-sha256` never counts:
//! otherwise a replayed signature would carry any body.

use super::canonical::{EMPTY_SHA256, sha256_hex};
use super::refusal::Refusal;
use super::{SigV4Auth, SignedRequest, SignedService, streaming};
use crate::s3::chunked;

const HEADER: &str = "x-amz-content-sha256";
const UNSIGNED: &str = "UNSIGNED-PAYLOAD";
const UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
const STREAMING: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const STREAMING_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";

/// How a request's payload is covered by its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Payload {
    /// The body's own hash (STS, IAM). A presigned call with no body may also have been
    /// signed as `UNSIGNED-PAYLOAD` (SDK presigners differ); an empty body has nothing to
    /// forge.
    Hashed(Vec<String>),
    /// S3: a signed hash that the body must match.
    Declared(String),
    /// S3: `UNSIGNED-PAYLOAD` or `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (the client chose not
    /// to sign the body, as S3 allows).
    Unsigned(&'static str),
    /// S3: aws-chunked with a signature per chunk (and per trailer).
    Streaming { trailer: bool },
}

fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Payload {
    pub(super) fn of(
        request: &SignedRequest<'_>,
        auth: &SigV4Auth,
        service: SignedService,
    ) -> Result<Self, Refusal> {
        let header = request
            .headers
            .get(HEADER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let signed = auth.signed_headers.iter().any(|h| h == HEADER);
        if service != SignedService::S3 {
            let actual = sha256_hex(request.body);
            if let Some(declared) = header.filter(|_| signed)
                && !declared.eq_ignore_ascii_case(&actual)
            {
                return Err(Refusal::ContentSha256Mismatch {
                    declared,
                    computed: actual,
                });
            }
            let mut hashes = vec![actual];
            if auth.presigned && request.body.is_empty() {
                hashes.push(UNSIGNED.to_owned());
            }
            return Ok(Payload::Hashed(hashes));
        }
        let declared = match (header, signed) {
            (Some(value), true) => value,
            // Presigned URLs sign no payload; a stray header changes nothing.
            _ if auth.presigned => return Ok(Payload::Unsigned(UNSIGNED)),
            (Some(_), false) => return Err(Refusal::ContentSha256NotSigned),
            (None, _) => return Err(Refusal::ContentSha256Missing),
        };
        Ok(match declared.as_str() {
            UNSIGNED => Payload::Unsigned(UNSIGNED),
            UNSIGNED_TRAILER => Payload::Unsigned(UNSIGNED_TRAILER),
            STREAMING => Payload::Streaming { trailer: false },
            STREAMING_TRAILER => Payload::Streaming { trailer: true },
            hash if is_sha256_hex(hash) => Payload::Declared(declared),
            _ => return Err(Refusal::ContentSha256Invalid(declared)),
        })
    }

    /// The payload lines the client may have signed.
    pub(super) fn canonical_hashes(&self) -> Vec<String> {
        match self {
            Payload::Hashed(hashes) => hashes.clone(),
            Payload::Declared(hash) => vec![hash.clone()],
            Payload::Unsigned(value) => vec![(*value).to_owned()],
            Payload::Streaming { trailer: false } => vec![STREAMING.to_owned()],
            Payload::Streaming { trailer: true } => vec![STREAMING_TRAILER.to_owned()],
        }
    }

    /// After the seed signature verified: the body is the one it covers.
    pub(super) fn check_body(
        &self,
        request: &SignedRequest<'_>,
        auth: &SigV4Auth,
        key: &[u8],
    ) -> Result<(), Refusal> {
        match self {
            Payload::Hashed(_) | Payload::Unsigned(_) => Ok(()),
            Payload::Declared(declared) => {
                let computed = if request.body.is_empty() {
                    EMPTY_SHA256.to_owned()
                } else {
                    sha256_hex(request.body)
                };
                if declared.eq_ignore_ascii_case(&computed) {
                    Ok(())
                } else {
                    Err(Refusal::ContentSha256Mismatch {
                        declared: declared.clone(),
                        computed,
                    })
                }
            }
            Payload::Streaming { trailer } => {
                let body = chunked::parse(request.body).map_err(Refusal::Chunked)?;
                streaming::verify_chain(&body, auth, key, *trailer)?;
                if let Some(declared) = request.headers.get("x-amz-decoded-content-length") {
                    let declared = String::from_utf8_lossy(declared.as_bytes()).into_owned();
                    let actual = body.data_len();
                    if declared.trim().parse::<u64>().ok() != u64::try_from(actual).ok() {
                        return Err(Refusal::DecodedLengthMismatch { declared, actual });
                    }
                }
                Ok(())
            }
        }
    }
}
