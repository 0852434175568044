//! CloudFront's API errors: code, HTTP status and message as CloudFront sends them, in
//! its REST-XML envelope.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::NAMESPACE;
use crate::query::{new_request_id, xml_escape};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudFrontError {
    #[error("The specified distribution does not exist.")]
    NoSuchDistribution,
    #[error("The specified invalidation does not exist.")]
    NoSuchInvalidation,
    #[error("The specified origin access control does not exist.")]
    NoSuchOriginAccessControl,
    #[error("One or more of your origins or origin groups do not exist.")]
    NoSuchOrigin,
    #[error("The cache policy does not exist.")]
    NoSuchCachePolicy,
    #[error("An origin access control with the same name already exists.")]
    OriginAccessControlAlreadyExists,
    #[error(
        "The caller reference that you are using to create a distribution is associated with another distribution."
    )]
    DistributionAlreadyExists,
    #[error("The distribution you are trying to delete has not been disabled.")]
    DistributionNotDisabled,
    #[error("The If-Match version is missing or not valid for the resource.")]
    InvalidIfMatchVersion,
    #[error(
        "The precondition given in one or more of the request-header fields evaluated to false."
    )]
    PreconditionFailed,
    #[error("The TTL order specified in CacheBehavior is not valid.")]
    InvalidTtlOrder,
    #[error("The value of Quantity and the size of Items don't match.")]
    InconsistentQuantities,
    #[error(
        "This operation requires a body. Ensure that the body is present and the Content-Type header is set."
    )]
    MissingBody,
    #[error(
        "The XML document you provided was not well-formed or did not validate against our published schema."
    )]
    MalformedInput,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("The specified method is not allowed or not implemented by irsa-lab's CloudFront.")]
    NotImplemented,
}

impl CloudFrontError {
    pub fn code(&self) -> &'static str {
        match self {
            CloudFrontError::NoSuchDistribution => "NoSuchDistribution",
            CloudFrontError::NoSuchInvalidation => "NoSuchInvalidation",
            CloudFrontError::NoSuchOriginAccessControl => "NoSuchOriginAccessControl",
            CloudFrontError::NoSuchOrigin => "NoSuchOrigin",
            CloudFrontError::NoSuchCachePolicy => "NoSuchCachePolicy",
            CloudFrontError::OriginAccessControlAlreadyExists => "OriginAccessControlAlreadyExists",
            CloudFrontError::DistributionAlreadyExists => "DistributionAlreadyExists",
            CloudFrontError::DistributionNotDisabled => "DistributionNotDisabled",
            CloudFrontError::InvalidIfMatchVersion => "InvalidIfMatchVersion",
            CloudFrontError::PreconditionFailed => "PreconditionFailed",
            CloudFrontError::InvalidTtlOrder => "InvalidTTLOrder",
            CloudFrontError::InconsistentQuantities => "InconsistentQuantities",
            CloudFrontError::MissingBody => "MissingBody",
            CloudFrontError::MalformedInput => "MalformedInput",
            CloudFrontError::InvalidArgument(_) => "InvalidArgument",
            CloudFrontError::NotImplemented => "NotImplemented",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            CloudFrontError::NoSuchDistribution
            | CloudFrontError::NoSuchInvalidation
            | CloudFrontError::NoSuchOriginAccessControl
            | CloudFrontError::NoSuchOrigin
            | CloudFrontError::NoSuchCachePolicy => StatusCode::NOT_FOUND,
            CloudFrontError::OriginAccessControlAlreadyExists
            | CloudFrontError::DistributionAlreadyExists
            | CloudFrontError::DistributionNotDisabled => StatusCode::CONFLICT,
            CloudFrontError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            CloudFrontError::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
    pub fn to_xml(&self, request_id: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            self.code(),
            xml_escape(&self.to_string())
        )
    }
}

impl IntoResponse for CloudFrontError {
    fn into_response(self) -> Response {
        let rid = new_request_id();
        let mut response = (self.status(), self.to_xml(&rid)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
        if let Ok(v) = HeaderValue::from_str(&rid) {
            response.headers_mut().insert("x-amz-request-id", v);
        }
        response
    }
}
