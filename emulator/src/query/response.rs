use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// How the client asked to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Xml,
    Json,
}

impl Format {
    /// JSON when the `Accept` header asks for `application/json`, XML otherwise (AWS's default).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let wants_json = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("application/json"));
        if wants_json {
            Format::Json
        } else {
            Format::Xml
        }
    }
}

/// A fresh request id in AWS's shape (a lower-case UUID).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A 200 response carrying an XML document, with AWS's request-id header.
pub fn xml_response(body: String, request_id: &str) -> Response {
    with_headers(StatusCode::OK, Format::Xml, request_id, body)
}

pub(crate) fn with_headers(
    status: StatusCode,
    format: Format,
    request_id: &str,
    body: String,
) -> Response {
    let content_type = match format {
        Format::Xml => "text/xml",
        Format::Json => "application/json",
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}
