use http::StatusCode;

use super::response::Format;
use super::xml::XmlWriter;

/// Who AWS blames for an error: the `<Type>` element of the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        }
    }
}

/// An error as AWS renders it: code, message, HTTP status and fault.
///
/// Service modules (STS, IAM) keep their own typed error enums and convert into this at
/// the HTTP edge, so the exact AWS texts live next to the rules that produce them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    pub code: String,
    pub message: String,
    pub status: StatusCode,
    pub fault: Fault,
}

impl AwsError {
    pub fn sender(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status,
            fault: Fault::Sender,
        }
    }

    pub fn receiver(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status,
            fault: Fault::Receiver,
        }
    }

    /// The body AWS sends for this error. `namespace` is the service's XML namespace,
    /// e.g. `https://sts.amazonaws.com/doc/2011-06-15/`.
    pub fn render(&self, format: Format, namespace: &str, request_id: &str) -> String {
        match format {
            Format::Xml => {
                let mut w = XmlWriter::indented();
                w.open_ns("ErrorResponse", namespace)
                    .open("Error")
                    .element("Type", self.fault.as_str())
                    .element("Code", &self.code)
                    .element("Message", &self.message)
                    .close("Error")
                    .element("RequestId", request_id)
                    .close("ErrorResponse");
                w.finish()
            }
            Format::Json => serde_json::json!({
                "Error": {"Code": self.code, "Message": self.message, "Type": self.fault.as_str()},
                "RequestId": request_id,
            })
            .to_string(),
        }
    }

    /// A complete HTTP response for this error.
    pub fn into_response(
        self,
        format: Format,
        namespace: &str,
        request_id: &str,
    ) -> axum::response::Response {
        let body = self.render(format, namespace, request_id);
        super::response::with_headers(self.status, format, request_id, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_envelope_puts_request_id_beside_error() {
        let err = AwsError::sender(
            StatusCode::BAD_REQUEST,
            "InvalidIdentityToken",
            "Incorrect token audience",
        );
        let xml = err.render(
            Format::Xml,
            "https://sts.amazonaws.com/doc/2011-06-15/",
            "rid-1",
        );
        assert!(
            xml.starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">")
        );
        assert!(xml.contains("<Type>Sender</Type>"));
        assert!(xml.contains("<Code>InvalidIdentityToken</Code>"));
        assert!(xml.contains("</Error>\n  <RequestId>rid-1</RequestId>\n</ErrorResponse>"));
    }

    #[test]
    fn json_envelope_matches_aws_shape() {
        let err = AwsError::sender(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        );
        let json: serde_json::Value =
            serde_json::from_str(&err.render(Format::Json, "ns", "rid-2")).unwrap();
        assert_eq!(json["Error"]["Code"], "AccessDenied");
        assert_eq!(json["Error"]["Type"], "Sender");
        assert_eq!(json["RequestId"], "rid-2");
    }

    #[test]
    fn messages_are_escaped() {
        let err = AwsError::sender(StatusCode::BAD_REQUEST, "ValidationError", "a < b & c");
        assert!(
            err.render(Format::Xml, "ns", "r")
                .contains("<Message>a &lt; b &amp; c</Message>")
        );
    }
}
