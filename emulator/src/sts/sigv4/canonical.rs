//! The canonical request, the string to sign and the signing key, shared by signing and
//! verifying so that both always agree.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::{SigV4Auth, SignedRequest};

type HmacSha256 = Hmac<Sha256>;

/// RFC 3986 unreserved characters stay as they are; everything else is %XX-encoded.
const SIGV4: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// SHA-256 of the empty string, hex.
pub(super) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(super) fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC-SHA256 takes keys of any length.
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub(super) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Whether `provided` (hex) is the HMAC of `to_sign` under `key`, compared in constant time.
pub(super) fn signature_matches(key: &[u8], to_sign: &str, provided: &str) -> bool {
    let Ok(provided) = hex::decode(provided) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return false;
    };
    mac.update(to_sign.as_bytes());
    mac.verify_slice(&provided).is_ok()
}

fn canonical_query(query: Option<&str>, drop_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', "%20"))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .filter(|(k, _)| !(drop_signature && k == "X-Amz-Signature"))
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, SIGV4).to_string(),
                utf8_percent_encode(&v, SIGV4).to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn canonical_headers(headers: &HeaderMap, signed: &[String]) -> String {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

/// The string to sign for `request` with `payload_hash` as the canonical request's last line.
pub(super) fn string_to_sign(
    request: &SignedRequest<'_>,
    auth: &SigV4Auth,
    payload_hash: &str,
) -> String {
    let path = match request.uri.path() {
        "" => "/",
        path => path,
    };
    let canonical_request = format!(
        "{}\n{path}\n{}\n{}\n{}\n{payload_hash}",
        request.method,
        canonical_query(request.uri.query(), auth.presigned),
        canonical_headers(request.headers, &auth.signed_headers),
        auth.signed_headers.join(";"),
    );
    format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        auth.amz_date,
        auth.scope(),
        sha256_hex(canonical_request.as_bytes())
    )
}
