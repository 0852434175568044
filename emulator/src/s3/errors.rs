use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::chunked::ChunkedError;
use crate::query::{AwsError, new_request_id, xml_escape};
use crate::sts::StsError;
use crate::sts::sigv4::{Refusal, ScopeProblem, SigV4Error};

const QUERY_PARAMS_REQUIRED: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";

/// S3's errors, with S3's codes, statuses and messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3Error {
    #[error("The specified bucket does not exist")]
    NoSuchBucket(String),
    #[error("The specified key does not exist.")]
    NoSuchKey(String),
    #[error("Access Denied")]
    AccessDenied,
    #[error("The specified bucket is not valid.")]
    InvalidBucketName(String),
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou(String),
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty(String),
    #[error("Your key is too long")]
    KeyTooLong,
    #[error("Your proposed upload exceeds the maximum allowed size")]
    EntityTooLarge,
    #[error(
        "The XML you provided was not well-formed or did not validate against our published schema"
    )]
    MalformedXml,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("The specified method is not allowed against this resource.")]
    MethodNotAllowed,
    #[error("A header you provided implies functionality that is not implemented")]
    NotImplemented,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    )]
    SignatureDoesNotMatch,
    /// An `Authorization` header of another scheme (`Bearer ..`, empty): the value is
    /// echoed as S3 does.
    #[error("Unsupported Authorization Type")]
    UnsupportedAuthorizationType(String),
    #[error("{0}")]
    AuthorizationHeaderMalformed(String),
    #[error("{0}")]
    AuthorizationQueryParametersError(String),
    #[error("The difference between the request time and the current time is too large.")]
    RequestTimeTooSkewed {
        request_time: String,
        server_time: String,
    },
    #[error("Request has expired")]
    RequestExpired {
        expires: i64,
        expires_at: String,
        server_time: String,
    },
    /// AccessDenied with a message of its own ("Request is not valid yet").
    #[error("{0}")]
    AccessDeniedBecause(String),
    #[error("There were headers present in the request which were not signed")]
    HeadersNotSigned(String),
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch { client: String, computed: String },
    #[error("{0}")]
    IncompleteBody(String),
    #[error("The AWS Access Key Id you provided does not exist in our records.")]
    InvalidAccessKeyId(String),
    #[error("The provided token is malformed or otherwise invalid.")]
    InvalidToken,
    #[error("The provided token has expired.")]
    ExpiredToken,
    #[error("The bucket does not allow ACLs")]
    AccessControlListNotSupported,
    #[error("Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")]
    InvalidBucketAclWithObjectOwnership,
    #[error("{0}")]
    MalformedPolicy(String),
    #[error("The bucket policy does not exist")]
    NoSuchBucketPolicy(String),
    #[error("The bucket ownership controls were not found")]
    OwnershipControlsNotFound(String),
    #[error("The public access block configuration was not found")]
    NoSuchPublicAccessBlock(String),
}

impl S3Error {
    pub fn code(&self) -> &'static str {
        match self {
            S3Error::NoSuchBucket(_) => "NoSuchBucket",
            S3Error::NoSuchKey(_) => "NoSuchKey",
            S3Error::AccessDenied => "AccessDenied",
            S3Error::InvalidBucketName(_) => "InvalidBucketName",
            S3Error::BucketAlreadyOwnedByYou(_) => "BucketAlreadyOwnedByYou",
            S3Error::BucketNotEmpty(_) => "BucketNotEmpty",
            S3Error::KeyTooLong => "KeyTooLongError",
            S3Error::EntityTooLarge => "EntityTooLarge",
            S3Error::MalformedXml => "MalformedXML",
            S3Error::InvalidArgument(_) => "InvalidArgument",
            S3Error::InvalidRequest(_) => "InvalidRequest",
            S3Error::MethodNotAllowed => "MethodNotAllowed",
            S3Error::NotImplemented => "NotImplemented",
            S3Error::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            S3Error::UnsupportedAuthorizationType(_) => "InvalidArgument",
            S3Error::AuthorizationHeaderMalformed(_) => "AuthorizationHeaderMalformed",
            S3Error::AuthorizationQueryParametersError(_) => "AuthorizationQueryParametersError",
            S3Error::RequestTimeTooSkewed { .. } => "RequestTimeTooSkewed",
            S3Error::RequestExpired { .. }
            | S3Error::AccessDeniedBecause(_)
            | S3Error::HeadersNotSigned(_) => "AccessDenied",
            S3Error::ContentSha256Mismatch { .. } => "XAmzContentSHA256Mismatch",
            S3Error::IncompleteBody(_) => "IncompleteBody",
            S3Error::InvalidAccessKeyId(_) => "InvalidAccessKeyId",
            S3Error::InvalidToken => "InvalidToken",
            S3Error::ExpiredToken => "ExpiredToken",
            S3Error::AccessControlListNotSupported => "AccessControlListNotSupported",
            S3Error::InvalidBucketAclWithObjectOwnership => "InvalidBucketAclWithObjectOwnership",
            S3Error::MalformedPolicy(_) => "MalformedPolicy",
            S3Error::NoSuchBucketPolicy(_) => "NoSuchBucketPolicy",
            S3Error::OwnershipControlsNotFound(_) => "OwnershipControlsNotFoundError",
            S3Error::NoSuchPublicAccessBlock(_) => "NoSuchPublicAccessBlockConfiguration",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            S3Error::NoSuchBucket(_)
            | S3Error::NoSuchKey(_)
            | S3Error::NoSuchBucketPolicy(_)
            | S3Error::OwnershipControlsNotFound(_)
            | S3Error::NoSuchPublicAccessBlock(_) => StatusCode::NOT_FOUND,
            S3Error::AccessDenied
            | S3Error::SignatureDoesNotMatch
            | S3Error::RequestTimeTooSkewed { .. }
            | S3Error::RequestExpired { .. }
            | S3Error::AccessDeniedBecause(_)
            | S3Error::HeadersNotSigned(_)
            | S3Error::InvalidAccessKeyId(_) => StatusCode::FORBIDDEN,
            S3Error::BucketAlreadyOwnedByYou(_) | S3Error::BucketNotEmpty(_) => {
                StatusCode::CONFLICT
            }
            S3Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            S3Error::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// S3's error document: `<Error><Code/><Message/>[<BucketName/>|<Key/>]<RequestId/><HostId/></Error>`.
    pub fn to_xml(&self, request_id: &str) -> String {
        let extra = match self {
            S3Error::NoSuchBucket(b)
            | S3Error::InvalidBucketName(b)
            | S3Error::BucketAlreadyOwnedByYou(b)
            | S3Error::BucketNotEmpty(b)
            | S3Error::NoSuchBucketPolicy(b)
            | S3Error::OwnershipControlsNotFound(b)
            | S3Error::NoSuchPublicAccessBlock(b) => {
                format!("<BucketName>{}</BucketName>", xml_escape(b))
            }
            S3Error::NoSuchKey(k) => format!("<Key>{}</Key>", xml_escape(k)),
            S3Error::UnsupportedAuthorizationType(value) => format!(
                "<ArgumentName>Authorization</ArgumentName><ArgumentValue>{}</ArgumentValue>",
                xml_escape(value)
            ),
            S3Error::RequestTimeTooSkewed {
                request_time,
                server_time,
            } => format!(
                "<RequestTime>{}</RequestTime><ServerTime>{server_time}</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>",
                xml_escape(request_time)
            ),
            S3Error::RequestExpired {
                expires,
                expires_at,
                server_time,
            } => format!(
                "<X-Amz-Expires>{expires}</X-Amz-Expires><Expires>{expires_at}</Expires><ServerTime>{server_time}</ServerTime>"
            ),
            S3Error::HeadersNotSigned(names) => {
                format!("<HeadersNotSigned>{}</HeadersNotSigned>", xml_escape(names))
            }
            S3Error::ContentSha256Mismatch { client, computed } => format!(
                "<ClientComputedContentSHA256>{}</ClientComputedContentSHA256><S3ComputedContentSHA256>{computed}</S3ComputedContentSHA256>",
                xml_escape(client)
            ),
            S3Error::InvalidAccessKeyId(key) => {
                format!("<AWSAccessKeyId>{}</AWSAccessKeyId>", xml_escape(key))
            }
            _ => String::new(),
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{extra}<RequestId>{request_id}</RequestId><HostId>{}</HostId></Error>",
            self.code(),
            xml_escape(&self.to_string()),
            host_id(request_id),
        )
    }
}

/// S3 sends an opaque host id beside the request id; ours is derived from it.
fn host_id(request_id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(request_id.as_bytes())
}

impl IntoResponse for S3Error {
    fn into_response(self) -> Response {
        let rid = new_request_id();
        let mut response = (self.status(), self.to_xml(&rid)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        if let Ok(v) = HeaderValue::from_str(&rid) {
            response.headers_mut().insert("x-amz-request-id", v);
        }
        response
    }
}

/// An S3-shaped error response for an error raised before the request reached S3 (for
/// example, STS-issued credentials that failed verification).
pub fn error_response(error: &AwsError) -> Response {
    let rid = new_request_id();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{rid}</RequestId><HostId>{}</HostId></Error>",
        xml_escape(&error.code),
        xml_escape(&error.message),
        host_id(&rid)
    );
    let mut response = (error.status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

/// ISO 8601 without fraction, as S3 writes `ServerTime` and `Expires`.
fn iso(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).unwrap_or_default()
}

impl From<&SigV4Error> for S3Error {
    /// S3's answer to credentials that are present but are not a well-formed SigV4
    /// signature.
    fn from(e: &SigV4Error) -> Self {
        let malformed = |detail: &str| {
            S3Error::AuthorizationHeaderMalformed(format!(
                "The authorization header is malformed; {detail}"
            ))
        };
        match e {
            SigV4Error::UnsupportedScheme(value) => {
                S3Error::UnsupportedAuthorizationType(value.clone())
            }
            SigV4Error::UnsupportedMechanism | SigV4Error::BothHeaderAndQuery => {
                S3Error::InvalidRequest(e.to_string())
            }
            SigV4Error::MissingComponent(_) | SigV4Error::MalformedPair(_) => malformed(
                "the authorization header requires three components: Credential, SignedHeaders, and Signature.",
            ),
            SigV4Error::MalformedCredential(_) => malformed(
                "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
            ),
            SigV4Error::MalformedSignature => S3Error::SignatureDoesNotMatch,
            SigV4Error::QueryIncomplete(_) => {
                S3Error::AuthorizationQueryParametersError(QUERY_PARAMS_REQUIRED.to_owned())
            }
            SigV4Error::QueryAlgorithm(_) => {
                S3Error::AuthorizationQueryParametersError(e.to_string())
            }
        }
    }
}

impl From<&ChunkedError> for S3Error {
    fn from(e: &ChunkedError) -> Self {
        match e {
            ChunkedError::Incomplete(_) => S3Error::IncompleteBody(e.to_string()),
            ChunkedError::Malformed(_) => S3Error::InvalidRequest(e.to_string()),
        }
    }
}

fn scope_error(problem: &ScopeProblem, presigned: bool) -> S3Error {
    let detail = match problem {
        ScopeProblem::Region { got, expected } => format!(
            "the region '{got}' is wrong; expecting '{}'",
            expected.as_deref().unwrap_or("us-east-1")
        ),
        ScopeProblem::Service { got, .. } => {
            format!("incorrect service \"{got}\". This endpoint belongs to \"s3\".")
        }
        ScopeProblem::Terminator(got) => {
            format!("incorrect terminal \"{got}\". This endpoint uses \"aws4_request\".")
        }
        ScopeProblem::Date { scope, amz_date } if presigned => {
            return S3Error::AuthorizationQueryParametersError(format!(
                "Invalid credential date \"{scope}\". This date is not the same as X-Amz-Date: \"{}\".",
                amz_date.get(..8).unwrap_or(amz_date)
            ));
        }
        ScopeProblem::Date { .. } => {
            "Invalid credential date. Date is not the same as X-Amz-Date.".to_owned()
        }
    };
    if presigned {
        S3Error::AuthorizationQueryParametersError(format!(
            "Error parsing the X-Amz-Credential parameter; {detail}"
        ))
    } else {
        S3Error::AuthorizationHeaderMalformed(format!(
            "The authorization header is malformed; {detail}"
        ))
    }
}

impl S3Error {
    /// S3's answer to a signature (of issued credentials) that AWS would refuse.
    pub fn from_refusal(refusal: &Refusal, presigned: bool, amz_date: &str) -> Self {
        match refusal {
            Refusal::MissingDate { .. } => S3Error::AccessDeniedBecause(
                "AWS authentication requires a valid Date or x-amz-date header".into(),
            ),
            Refusal::MalformedDate(_) if presigned => S3Error::AuthorizationQueryParametersError(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"".into(),
            ),
            Refusal::MalformedDate(_) => S3Error::AccessDeniedBecause(
                "AWS authentication requires a valid Date or x-amz-date header".into(),
            ),
            Refusal::Expired { now, .. } | Refusal::NotYetCurrent { now, .. } => {
                S3Error::RequestTimeTooSkewed {
                    request_time: amz_date.to_owned(),
                    server_time: iso(*now),
                }
            }
            Refusal::PresignedExpiresMissing => {
                S3Error::AuthorizationQueryParametersError(QUERY_PARAMS_REQUIRED.to_owned())
            }
            Refusal::PresignedExpiresInvalid(message) => {
                S3Error::AuthorizationQueryParametersError((*message).to_owned())
            }
            Refusal::PresignedNotYetValid => {
                S3Error::AccessDeniedBecause("Request is not valid yet".into())
            }
            Refusal::PresignedExpired {
                expires,
                expires_at,
                now,
            } => S3Error::RequestExpired {
                expires: *expires,
                expires_at: iso(*expires_at),
                server_time: iso(*now),
            },
            Refusal::HostNotSigned => S3Error::HeadersNotSigned("host".into()),
            Refusal::Scope(problems) => problems
                .first()
                .map_or(S3Error::SignatureDoesNotMatch, |p| {
                    scope_error(p, presigned)
                }),
            Refusal::ContentSha256Missing => S3Error::InvalidRequest(refusal.to_string()),
            Refusal::ContentSha256NotSigned => {
                S3Error::HeadersNotSigned("x-amz-content-sha256".into())
            }
            Refusal::ContentSha256Invalid(_) => S3Error::InvalidArgument(refusal.to_string()),
            Refusal::ContentSha256Mismatch { declared, computed } => {
                S3Error::ContentSha256Mismatch {
                    client: declared.clone(),
                    computed: computed.clone(),
                }
            }
            Refusal::SignatureMismatch | Refusal::ChunkSignatureMismatch { .. } => {
                S3Error::SignatureDoesNotMatch
            }
            Refusal::Chunked(e) => S3Error::from(e),
            Refusal::DecodedLengthMismatch { .. } => S3Error::IncompleteBody(refusal.to_string()),
        }
    }
}

/// S3's answer to a request whose STS-issued credentials failed verification.
pub fn issued_refusal(error: &StsError, presigned: bool, amz_date: &str) -> Response {
    let s3 = match error {
        StsError::Signature(refusal) => S3Error::from_refusal(refusal, presigned, amz_date),
        StsError::InvalidClientTokenId { .. } => S3Error::InvalidToken,
        StsError::ExpiredSession => S3Error::ExpiredToken,
        other => return error_response(&AwsError::from(other.clone())),
    };
    s3.into_response()
}
