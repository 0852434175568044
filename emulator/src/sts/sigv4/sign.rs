//! Signing, as the SDKs do it: irsa-lab's own clients and the tests use these, and the
//! verifier shares their canonicalisation.

use http::{HeaderMap, Method, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::canonical::{EMPTY_SHA256, hmac, sha256_hex, signing_key, string_to_sign};
use super::{SigV4Auth, SignedRequest};

const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Signs a request: adds `x-amz-date`, `x-amz-security-token` (when given),
/// `x-amz-content-sha256` (S3, unless already set, as the SDKs do) and `authorization` to
/// `headers`, which must already hold `host`. Every header present is signed.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    body: &[u8],
    access_key_id: &str,
    secret: &str,
    session_token: Option<&str>,
    region: &str,
    service: &str,
    amz_date: &str,
) {
    let insert = |headers: &mut HeaderMap, name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    insert(headers, "x-amz-date", amz_date);
    if let Some(token) = session_token {
        insert(headers, "x-amz-security-token", token);
    }
    if service == "s3" && !headers.contains_key("x-amz-content-sha256") {
        insert(headers, "x-amz-content-sha256", &sha256_hex(body));
    }
    let payload_hash = match headers.get("x-amz-content-sha256") {
        Some(declared) => String::from_utf8_lossy(declared.as_bytes()).into_owned(),
        None => sha256_hex(body),
    };
    let mut signed: Vec<String> = headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k != "authorization")
        .collect();
    signed.sort();
    signed.dedup();
    let auth = auth_for(access_key_id, region, service, amz_date, signed, false);
    let request = SignedRequest {
        method,
        uri,
        headers,
        body,
    };
    let to_sign = string_to_sign(&request, &auth, &payload_hash);
    let signature = hex::encode(hmac(
        &signing_key(secret, &auth.date, region, service),
        to_sign.as_bytes(),
    ));
    let value = format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/{}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={signature}",
        auth.date,
        auth.signed_headers.join(";")
    );
    insert(headers, "authorization", &value);
}

fn auth_for(
    access_key_id: &str,
    region: &str,
    service: &str,
    amz_date: &str,
    signed_headers: Vec<String>,
    presigned: bool,
) -> SigV4Auth {
    SigV4Auth {
        access_key_id: access_key_id.to_owned(),
        date: amz_date.get(..8).unwrap_or("").to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        terminator: "aws4_request".to_owned(),
        signed_headers,
        signature: String::new(),
        amz_date: amz_date.to_owned(),
        presigned,
        expires: None,
    }
}

/// A presigned URL for `uri` (path and query; `host` is the only signed header), valid
/// for `expires` seconds from `amz_date`, as `generate_presigned_url` makes them: S3 signs
/// `UNSIGNED-PAYLOAD`, other services the empty body.
#[allow(clippy::too_many_arguments)]
pub fn presign(
    method: &Method,
    uri: &Uri,
    host: &str,
    access_key_id: &str,
    secret: &str,
    session_token: Option<&str>,
    region: &str,
    service: &str,
    amz_date: &str,
    expires: u32,
) -> Uri {
    let date = amz_date.get(..8).unwrap_or("");
    let credential = format!("{access_key_id}/{date}/{region}/{service}/aws4_request");
    let mut params: Vec<(&str, String)> = vec![
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_owned()),
        ("X-Amz-Credential", credential),
        ("X-Amz-Date", amz_date.to_owned()),
        ("X-Amz-Expires", expires.to_string()),
        ("X-Amz-SignedHeaders", "host".to_owned()),
    ];
    if let Some(token) = session_token {
        params.push(("X-Amz-Security-Token", token.to_owned()));
    }
    let encoded: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    let query = match uri.query() {
        Some(existing) if !existing.is_empty() => format!("{existing}&{}", encoded.join("&")),
        _ => encoded.join("&"),
    };
    let unsigned: Uri = format!("{}?{query}", uri.path())
        .parse()
        .unwrap_or_else(|_| uri.clone());
    let mut headers = HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(host) {
        headers.insert(http::header::HOST, value);
    }
    let auth = auth_for(
        access_key_id,
        region,
        service,
        amz_date,
        vec!["host".to_owned()],
        true,
    );
    let payload = if service == "s3" {
        "UNSIGNED-PAYLOAD"
    } else {
        EMPTY_SHA256
    };
    let request = SignedRequest {
        method,
        uri: &unsigned,
        headers: &headers,
        body: b"",
    };
    let to_sign = string_to_sign(&request, &auth, payload);
    let signature = hex::encode(hmac(
        &signing_key(secret, date, region, service),
        to_sign.as_bytes(),
    ));
    format!("{}?{query}&X-Amz-Signature={signature}", uri.path())
        .parse()
        .unwrap_or(unsigned)
}
