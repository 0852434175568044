//! AWS Signature Version 4: parsing a request's signature, verifying it against a secret
//! (for credentials STS issued), and signing (for irsa-lab's own clients).

use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// RFC 3986 unreserved characters stay as they are; everything else is %XX-encoded.
const SIGV4: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The signature a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4Auth {
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`).
    pub amz_date: String,
    /// Signed in the query string (presigned URL) rather than the header.
    pub presigned: bool,
}

/// Why a signature could not be read or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("Authorization header requires '{0}' parameter")]
    MissingComponent(&'static str),
    #[error("Credential should be scoped to a valid region, not '{0}'")]
    BadScope(String),
    #[error("the request has no X-Amz-Date")]
    MissingDate,
    #[error("the signature does not match")]
    Mismatch,
}

/// Reads the SigV4 signature from the `Authorization` header or a presigned query.
/// `Ok(None)`: the request is not SigV4-signed (anonymous, or another scheme).
pub fn parse_authorization(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<SigV4Auth>, SigV4Error> {
    if let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let Some(rest) = value.strip_prefix("AWS4-HMAC-SHA256") else {
            return Ok(None);
        };
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed_headers = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let credential = credential.ok_or(SigV4Error::MissingComponent("Credential"))?;
        let signed_headers = signed_headers.ok_or(SigV4Error::MissingComponent("SignedHeaders"))?;
        let signature = signature.ok_or(SigV4Error::MissingComponent("Signature"))?;
        let amz_date = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        return build(credential, signed_headers, signature, amz_date, false).map(Some);
    }
    let Some(query) = query else { return Ok(None) };
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256") {
        return Ok(None);
    }
    let credential =
        get("X-Amz-Credential").ok_or(SigV4Error::MissingComponent("X-Amz-Credential"))?;
    let signed_headers =
        get("X-Amz-SignedHeaders").ok_or(SigV4Error::MissingComponent("X-Amz-SignedHeaders"))?;
    let signature =
        get("X-Amz-Signature").ok_or(SigV4Error::MissingComponent("X-Amz-Signature"))?;
    let amz_date = get("X-Amz-Date").unwrap_or("").to_owned();
    build(credential, signed_headers, signature, amz_date, true).map(Some)
}

fn build(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: String,
    presigned: bool,
) -> Result<SigV4Auth, SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = parts.as_slice() else {
        return Err(SigV4Error::BadScope(
            credential.split_once('/').map_or("", |(_, s)| s).to_owned(),
        ));
    };
    Ok(SigV4Auth {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
        signature: signature.to_owned(),
        amz_date,
        presigned,
    })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC-SHA256 takes keys of any length.
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
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

/// The string-to-sign's inputs, shared by signing and verifying.
fn string_to_sign(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    auth: &SigV4Auth,
) -> String {
    let payload_hash = match headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        Some(declared) => declared.to_owned(),
        None if auth.presigned => "UNSIGNED-PAYLOAD".to_owned(),
        None => hex::encode(Sha256::digest(body)),
    };
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    let canonical_request = format!(
        "{method}\n{path}\n{}\n{}\n{}\n{payload_hash}",
        canonical_query(uri.query(), auth.presigned),
        canonical_headers(headers, &auth.signed_headers),
        auth.signed_headers.join(";"),
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        auth.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// Checks `auth.signature` over the request with `secret`, in constant time.
pub fn verify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    auth: &SigV4Auth,
) -> Result<(), SigV4Error> {
    if auth.amz_date.is_empty() {
        return Err(SigV4Error::MissingDate);
    }
    let to_sign = string_to_sign(method, uri, headers, body, auth);
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    let provided = hex::decode(&auth.signature).map_err(|_| SigV4Error::Mismatch)?;
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SigV4Error::Mismatch)?;
    mac.update(to_sign.as_bytes());
    mac.verify_slice(&provided)
        .map_err(|_| SigV4Error::Mismatch)
}

/// Signs a request: adds `x-amz-date`, `x-amz-security-token` (when given) and
/// `authorization` to `headers`, which must already hold `host`.
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
    let mut signed: Vec<String> = headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k != "authorization")
        .collect();
    signed.sort();
    signed.dedup();
    let auth = SigV4Auth {
        access_key_id: access_key_id.to_owned(),
        date: amz_date.get(..8).unwrap_or("").to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: signed,
        signature: String::new(),
        amz_date: amz_date.to_owned(),
        presigned: false,
    };
    let to_sign = string_to_sign(method, uri, headers, body, &auth);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the AWS SigV4 documentation ("Examples of the complete
    /// Signature Version 4 signing process", IAM ListUsers, secret
    /// wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY): its published signature must verify.
    #[test]
    fn verifies_the_documented_example() {
        let uri: Uri = "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "iam.amazonaws.com".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7".parse().unwrap(),
        );
        let auth = parse_authorization(&headers, uri.query()).unwrap().unwrap();
        assert_eq!(
            (auth.service.as_str(), auth.region.as_str()),
            ("iam", "us-east-1")
        );
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            verify(&Method::GET, &uri, &headers, b"", secret, &auth),
            Ok(())
        );
        assert_eq!(
            verify(&Method::GET, &uri, &headers, b"", "wrong", &auth),
            Err(SigV4Error::Mismatch)
        );
        assert_eq!(
            verify(&Method::POST, &uri, &headers, b"", secret, &auth),
            Err(SigV4Error::Mismatch)
        );
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let uri: Uri = "http://127.0.0.1:4577/".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:4577".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        sign(
            &Method::POST,
            &uri,
            &mut headers,
            body,
            "ASIAEXAMPLE",
            "secret",
            Some("tok"),
            "us-east-1",
            "sts",
            "20260101T000000Z",
        );
        let auth = parse_authorization(&headers, None).unwrap().unwrap();
        assert!(
            auth.signed_headers
                .contains(&"x-amz-security-token".to_owned())
        );
        assert_eq!(
            verify(&Method::POST, &uri, &headers, body, "secret", &auth),
            Ok(())
        );
        assert_eq!(
            verify(
                &Method::POST,
                &uri,
                &headers,
                b"Action=Other",
                "secret",
                &auth
            ),
            Err(SigV4Error::Mismatch)
        );
    }

    #[test]
    fn malformed_authorization_is_an_error_other_schemes_are_not_sigv4() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            parse_authorization(&headers, None),
            Err(SigV4Error::MissingComponent("SignedHeaders"))
        );
        headers.insert("authorization", "AWS AKID:signature".parse().unwrap());
        assert_eq!(parse_authorization(&headers, None), Ok(None));
        assert_eq!(
            parse_authorization(&HeaderMap::new(), Some("Action=GetCallerIdentity")),
            Ok(None)
        );
    }
}
