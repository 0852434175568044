//! Reading the signature a request carries: the `Authorization` header
//! (`AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..`) or a presigned query
//! (`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=..`).
//!
//! Only a well-formed SigV4 header or query counts as credentials: any other
//! `Authorization` value (`Bearer ..`, empty, SigV2's `AWS key:sig`) or a partial query
//! (a lone `X-Amz-Signature`) is an error, never "anonymous".

use http::HeaderMap;
use percent_encoding::percent_decode_str;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The query parameters that make a request "query-signed" once any of them is present.
const QUERY_AUTH_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
];

/// The signature a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4Auth {
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// The scope's last element (`aws4_request` when well-formed).
    pub terminator: String,
    pub signed_headers: Vec<String>,
    /// 64 lowercase hexadecimal digits.
    pub signature: String,
    /// `X-Amz-Date` as sent (`YYYYMMDDTHHMMSSZ` when well-formed; empty when absent).
    pub amz_date: String,
    /// Signed in the query string (presigned URL) rather than the header.
    pub presigned: bool,
    /// `X-Amz-Expires` of a presigned URL, as sent.
    pub expires: Option<String>,
}

impl SigV4Auth {
    /// `date/region/service/terminator`, as the string to sign names it.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

/// Why a request's credentials could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// An `Authorization` header of another scheme (`Bearer ..`), or empty.
    #[error("Unsupported Authorization Type")]
    UnsupportedScheme(String),
    /// Signature Version 2 (`Authorization: AWS key:sig`, or `AWSAccessKeyId`+`Signature`).
    #[error(
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
    )]
    UnsupportedMechanism,
    #[error("Authorization header requires '{0}' parameter.")]
    MissingComponent(&'static str),
    #[error("'{0}' not a valid key=value pair (missing equal-sign) in Authorization header")]
    MalformedPair(String),
    #[error(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{0}'"
    )]
    MalformedCredential(String),
    #[error("the signature is not 64 hexadecimal digits")]
    MalformedSignature,
    #[error("AWS query-string parameters must include '{0}'.")]
    QueryIncomplete(&'static str),
    #[error("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")]
    QueryAlgorithm(String),
    #[error(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
    )]
    BothHeaderAndQuery,
}

impl SigV4Error {
    /// The AWS code a Query service (STS, IAM) answers with, and its HTTP status.
    pub fn query_code(&self) -> (&'static str, http::StatusCode) {
        match self {
            SigV4Error::MalformedSignature => {
                ("SignatureDoesNotMatch", http::StatusCode::FORBIDDEN)
            }
            _ => ("IncompleteSignature", http::StatusCode::BAD_REQUEST),
        }
    }

    /// Whether this is a scheme other than SigV4 rather than a broken SigV4 signature;
    /// the Query services treat such requests as unsigned.
    pub fn is_other_scheme(&self) -> bool {
        matches!(
            self,
            SigV4Error::UnsupportedScheme(_) | SigV4Error::UnsupportedMechanism
        )
    }
}

/// The query's parameters, percent-decoded (`+` stays `+`: SigV4 clients encode spaces as
/// `%20`, and session tokens contain `+`).
pub(super) fn query_params(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|kv| !kv.is_empty()).map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        (decode(k), decode(v))
    })
}

/// Reads the SigV4 signature from the `Authorization` header or a presigned query.
///
/// `Ok(None)`: the request carries no credentials at all (anonymous, or unsigned like
/// `AssumeRoleWithWebIdentity`).
///
/// # Errors
/// Credentials that are present but are not a well-formed SigV4 signature.
pub fn parse_authorization(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<SigV4Auth>, SigV4Error> {
    let header = headers.get(http::header::AUTHORIZATION);
    let query_signed = query
        .is_some_and(|q| query_params(q).any(|(k, _)| QUERY_AUTH_PARAMS.contains(&k.as_str())));
    let sigv2_query = query.is_some_and(|q| {
        let has = |name: &str| query_params(q).any(|(k, _)| k == name);
        has("AWSAccessKeyId") && has("Signature")
    });
    match (header, query_signed) {
        (Some(_), true) => Err(SigV4Error::BothHeaderAndQuery),
        (Some(value), false) => {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            parse_header(headers, &value).map(Some)
        }
        (None, true) => parse_query(query.unwrap_or("")).map(Some),
        (None, false) if sigv2_query => Err(SigV4Error::UnsupportedMechanism),
        (None, false) => Ok(None),
    }
}

fn parse_header(headers: &HeaderMap, value: &str) -> Result<SigV4Auth, SigV4Error> {
    let rest = match value.strip_prefix(ALGORITHM) {
        Some(rest) if rest.is_empty() || rest.starts_with([' ', '\t']) => rest,
        _ if value.starts_with("AWS ") => return Err(SigV4Error::UnsupportedMechanism),
        _ => return Err(SigV4Error::UnsupportedScheme(value.to_owned())),
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, v)) = part.split_once('=') else {
            return Err(SigV4Error::MalformedPair(part.to_owned()));
        };
        match key.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed_headers = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let credential = credential.ok_or(SigV4Error::MissingComponent("Credential"))?;
    let signed_headers = signed_headers.ok_or(SigV4Error::MissingComponent("SignedHeaders"))?;
    let signature = signature.ok_or(SigV4Error::MissingComponent("Signature"))?;
    let amz_date = headers
        .get("x-amz-date")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    build(credential, signed_headers, signature, amz_date, false, None)
}

fn parse_query(query: &str) -> Result<SigV4Auth, SigV4Error> {
    let params: Vec<(String, String)> = query_params(query).collect();
    let get = |name: &'static str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or(SigV4Error::QueryIncomplete(name))
    };
    let algorithm = get("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(SigV4Error::QueryAlgorithm(algorithm.to_owned()));
    }
    let credential = get("X-Amz-Credential")?;
    let signed_headers = get("X-Amz-SignedHeaders")?;
    let signature = get("X-Amz-Signature")?;
    let amz_date = get("X-Amz-Date")?.to_owned();
    let expires = get("X-Amz-Expires").ok().map(str::to_owned);
    build(
        credential,
        signed_headers,
        signature,
        amz_date,
        true,
        expires,
    )
}

fn build(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: String,
    presigned: bool,
    expires: Option<String>,
) -> Result<SigV4Auth, SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(SigV4Error::MalformedCredential(credential.to_owned()));
    };
    if access_key_id.is_empty() {
        return Err(SigV4Error::MalformedCredential(credential.to_owned()));
    }
    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    if signed_headers.is_empty() {
        return Err(SigV4Error::MissingComponent("SignedHeaders"));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SigV4Error::MalformedSignature);
    }
    Ok(SigV4Auth {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        terminator: (*terminator).to_owned(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
        amz_date,
        presigned,
        expires,
    })
}
