//! Signed streaming uploads (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`): the header
//! signature is only the seed; each chunk is signed over its data and the previous
//! signature, so a chunk cannot be changed, dropped, reordered or appended without the
//! secret. With `-TRAILER`, the trailing headers are signed last, after the final chunk.

use super::SigV4Auth;
use super::canonical::{EMPTY_SHA256, hmac, sha256_hex, signature_matches, signing_key};
use super::refusal::Refusal;
use crate::s3::chunked::ChunkedBody;

/// The string to sign for one chunk.
pub fn chunk_string_to_sign(amz_date: &str, scope: &str, previous: &str, data: &[u8]) -> String {
    format!(
        "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{}",
        sha256_hex(data)
    )
}

/// The string to sign for the trailing headers, canonicalised like headers
/// (`name:value\n`, lowercase names, sorted).
pub fn trailer_string_to_sign(
    amz_date: &str,
    scope: &str,
    previous: &str,
    trailers: &[(&str, &str)],
) -> String {
    let mut lines: Vec<String> = trailers
        .iter()
        .map(|(name, value)| format!("{}:{}\n", name.to_ascii_lowercase(), value.trim()))
        .collect();
    lines.sort();
    let canonical: String = lines.concat();
    format!(
        "AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous}\n{}",
        sha256_hex(canonical.as_bytes())
    )
}

/// Every chunk signature in `body` continues the chain from the seed signature.
pub(super) fn verify_chain(
    body: &ChunkedBody<'_>,
    auth: &SigV4Auth,
    key: &[u8],
    trailer: bool,
) -> Result<(), Refusal> {
    let scope = auth.scope();
    let mut previous = auth.signature.clone();
    for (index, chunk) in body.chunks.iter().enumerate() {
        let signature = chunk
            .signature
            .ok_or(Refusal::ChunkSignatureMismatch { index })?;
        let to_sign = chunk_string_to_sign(&auth.amz_date, &scope, &previous, chunk.data);
        if !signature_matches(key, &to_sign, signature) {
            return Err(Refusal::ChunkSignatureMismatch { index });
        }
        previous = signature.to_ascii_lowercase();
    }
    if trailer {
        let index = body.chunks.len();
        let signature = body
            .trailer_signature
            .ok_or(Refusal::ChunkSignatureMismatch { index })?;
        let to_sign = trailer_string_to_sign(&auth.amz_date, &scope, &previous, &body.trailers);
        if !signature_matches(key, &to_sign, signature) {
            return Err(Refusal::ChunkSignatureMismatch { index });
        }
    }
    Ok(())
}

/// Frames `chunks` as a signed aws-chunked body continuing from `seed_signature` (the
/// request's header signature), as SDKs that stream signed uploads do. A final empty
/// chunk is added. With `trailers`, they are signed after it (`-TRAILER` variant).
#[allow(clippy::too_many_arguments)]
pub fn sign_chunked_body(
    secret: &str,
    amz_date: &str,
    region: &str,
    service: &str,
    seed_signature: &str,
    chunks: &[&[u8]],
    trailers: Option<&[(&str, &str)]>,
) -> Vec<u8> {
    let date = amz_date.get(..8).unwrap_or("");
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let key = signing_key(secret, date, region, service);
    let mut previous = seed_signature.to_owned();
    let mut out = Vec::new();
    for data in chunks.iter().copied().chain([&b""[..]]) {
        let to_sign = chunk_string_to_sign(amz_date, &scope, &previous, data);
        previous = hex::encode(hmac(&key, to_sign.as_bytes()));
        out.extend_from_slice(
            format!("{:x};chunk-signature={previous}\r\n", data.len()).as_bytes(),
        );
        out.extend_from_slice(data);
        if !data.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(trailers) = trailers {
        for (name, value) in trailers {
            out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        }
        let to_sign = trailer_string_to_sign(amz_date, &scope, &previous, trailers);
        let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
        out.extend_from_slice(format!("x-amz-trailer-signature:{signature}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}
