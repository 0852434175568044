//! The AWS Query protocol that STS and IAM speak: `Action=...&Version=...` as a form POST
//! body or a GET query string, answered with XML (or JSON when the client asks for it),
//! and errors in the `<ErrorResponse>` envelope.

mod error;
mod request;
mod response;
mod xml;

pub use error::{AwsError, Fault};
pub use request::{QueryParseError, QueryRequest};
pub use response::{Format, new_request_id, xml_response};
pub use xml::{REPLACEMENT, XmlWriter, xml_escape, xml_safe};
