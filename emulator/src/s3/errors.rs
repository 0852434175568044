use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::query::{AwsError, new_request_id, xml_escape};

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
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            S3Error::NoSuchBucket(_) | S3Error::NoSuchKey(_) => StatusCode::NOT_FOUND,
            S3Error::AccessDenied => StatusCode::FORBIDDEN,
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
            | S3Error::BucketNotEmpty(b) => {
                format!("<BucketName>{}</BucketName>", xml_escape(b))
            }
            S3Error::NoSuchKey(k) => format!("<Key>{}</Key>", xml_escape(k)),
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
