//! STS's errors with AWS's exact codes, statuses and messages.
//!
//! Every variant keeps AWS's terse message separate from our diagnosis (`detail`), which
//! goes to the log: AWS says "Couldn't retrieve verification key..."; we also say which
//! URL failed and why.

use http::StatusCode;

use crate::query::AwsError;

/// AWS's message for every key-retrieval failure (note the two spaces after the comma).
pub const KEY_RETRIEVAL_MESSAGE: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";
/// AWS's message for a token that does not parse as a JWT.
pub const NOT_A_JWT_MESSAGE: &str = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)";
/// For a signature that does not verify AWS publishes no specific text; this is the
/// documented description of InvalidIdentityToken in the STS API reference (a documented
/// choice of ours).
pub const UNVERIFIABLE_MESSAGE: &str = "The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.";

/// Why STS refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsError {
    /// Parameter constraints: each entry is one failed constraint, AWS-worded.
    #[error("{}", validation_message(.0))]
    Validation(Vec<String>),
    /// ValidationError with a message of its own (e.g. "Request ARN is invalid").
    #[error("{0}")]
    ValidationMessage(String),
    #[error("No OpenIDConnect provider found in your account for {iss}")]
    NoProvider { iss: String },
    #[error("Incorrect token audience")]
    IncorrectAudience { detail: String },
    #[error("{KEY_RETRIEVAL_MESSAGE}")]
    KeyRetrieval { detail: String },
    #[error("OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint")]
    Thumbprint { detail: String },
    #[error("{NOT_A_JWT_MESSAGE}")]
    NotAJwt { detail: String },
    #[error("Missing a required claim: {0}")]
    MissingClaim(&'static str),
    #[error("{UNVERIFIABLE_MESSAGE}")]
    Unverifiable { detail: String },
    #[error("Token expired: current date/time {now} must be before the expiration date/time {exp}")]
    ExpiredWebIdentity { now: i64, exp: i64 },
    #[error("Not authorized to perform sts:AssumeRoleWithWebIdentity")]
    AccessDenied { detail: String },
    #[error("The policy is not in the valid JSON format.")]
    MalformedPolicy,
    #[error("Could not find operation {0} for version 2011-06-15")]
    InvalidAction(String),
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId { detail: String },
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureDoesNotMatch { detail: String },
    #[error("The security token included in the request is expired")]
    ExpiredSession,
    #[error("{0}")]
    IncompleteSignature(String),
    #[error(
        "STS is not activated in this region for account:{account}. Your account administrator can activate STS in this region using the IAM Console."
    )]
    RegionDisabled { account: String, region: String },
    /// A request signed with issued credentials whose signature AWS would refuse (date
    /// window, scope, payload, signature), with AWS's code and text.
    #[error("{}", .0.query_message())]
    Signature(#[from] super::sigv4::Refusal),
}

fn validation_message(constraints: &[String]) -> String {
    let n = constraints.len();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        constraints.join("; ")
    )
}

impl StsError {
    pub fn code(&self) -> &'static str {
        match self {
            StsError::Validation(_) | StsError::ValidationMessage(_) => "ValidationError",
            StsError::NoProvider { .. }
            | StsError::IncorrectAudience { .. }
            | StsError::KeyRetrieval { .. }
            | StsError::Thumbprint { .. }
            | StsError::NotAJwt { .. }
            | StsError::MissingClaim(_)
            | StsError::Unverifiable { .. } => "InvalidIdentityToken",
            StsError::ExpiredWebIdentity { .. } => "ExpiredTokenException",
            StsError::AccessDenied { .. } => "AccessDenied",
            StsError::MalformedPolicy => "MalformedPolicyDocument",
            StsError::InvalidAction(_) => "InvalidAction",
            StsError::MissingAuthenticationToken => "MissingAuthenticationToken",
            StsError::InvalidClientTokenId { .. } => "InvalidClientTokenId",
            StsError::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            StsError::ExpiredSession => "ExpiredToken",
            StsError::IncompleteSignature(_) => "IncompleteSignature",
            StsError::RegionDisabled { .. } => "RegionDisabledException",
            StsError::Signature(refusal) => refusal.query_code().0,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            StsError::Signature(refusal) => refusal.query_code().1,
            StsError::AccessDenied { .. }
            | StsError::MissingAuthenticationToken
            | StsError::InvalidClientTokenId { .. }
            | StsError::SignatureDoesNotMatch { .. }
            | StsError::RegionDisabled { .. } => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Our diagnosis beyond AWS's message, for logs (never contains the token).
    pub fn detail(&self) -> Option<&str> {
        match self {
            StsError::IncorrectAudience { detail }
            | StsError::KeyRetrieval { detail }
            | StsError::Thumbprint { detail }
            | StsError::NotAJwt { detail }
            | StsError::Unverifiable { detail }
            | StsError::AccessDenied { detail }
            | StsError::InvalidClientTokenId { detail }
            | StsError::SignatureDoesNotMatch { detail } => Some(detail),
            _ => None,
        }
    }
}

impl From<StsError> for AwsError {
    fn from(e: StsError) -> Self {
        AwsError::sender(e.status(), e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_count_their_errors() {
        let one = StsError::Validation(vec!["a".into()]);
        assert_eq!(one.to_string(), "1 validation error detected: a");
        let two = StsError::Validation(vec!["a".into(), "b".into()]);
        assert_eq!(two.to_string(), "2 validation errors detected: a; b");
    }

    #[test]
    fn codes_and_statuses() {
        let cases: Vec<(StsError, &str, u16)> = vec![
            (
                StsError::NoProvider {
                    iss: "https://x".into(),
                },
                "InvalidIdentityToken",
                400,
            ),
            (
                StsError::ExpiredWebIdentity { now: 2, exp: 1 },
                "ExpiredTokenException",
                400,
            ),
            (
                StsError::AccessDenied {
                    detail: String::new(),
                },
                "AccessDenied",
                403,
            ),
            (StsError::ExpiredSession, "ExpiredToken", 400),
            (
                StsError::InvalidClientTokenId {
                    detail: String::new(),
                },
                "InvalidClientTokenId",
                403,
            ),
            (
                StsError::SignatureDoesNotMatch {
                    detail: String::new(),
                },
                "SignatureDoesNotMatch",
                403,
            ),
            (
                StsError::MissingAuthenticationToken,
                "MissingAuthenticationToken",
                403,
            ),
        ];
        for (e, code, status) in cases {
            assert_eq!((e.code(), e.status().as_u16()), (code, status), "{e}");
        }
        assert_eq!(
            StsError::KeyRetrieval {
                detail: String::new()
            }
            .to_string(),
            "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
        );
    }
}
