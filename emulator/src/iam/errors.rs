use http::StatusCode;

use crate::query::AwsError;

/// IAM's errors, with AWS's codes and message texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    ValidationError(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("Could not find operation {0} for version 2010-05-08")]
    InvalidAction(String),
    #[error("The request must contain the parameter {0}")]
    MissingParameter(&'static str),
}

impl IamError {
    pub fn code(&self) -> &'static str {
        match self {
            IamError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            IamError::NoSuchEntity(_) => "NoSuchEntity",
            IamError::InvalidInput(_) => "InvalidInput",
            IamError::ValidationError(_) => "ValidationError",
            IamError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            IamError::LimitExceeded(_) => "LimitExceeded",
            IamError::DeleteConflict(_) => "DeleteConflict",
            IamError::InvalidAction(_) => "InvalidAction",
            IamError::MissingParameter(_) => "MissingParameter",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            IamError::EntityAlreadyExists(_)
            | IamError::LimitExceeded(_)
            | IamError::DeleteConflict(_) => StatusCode::CONFLICT,
            IamError::NoSuchEntity(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<IamError> for AwsError {
    fn from(e: IamError) -> Self {
        AwsError::sender(e.status(), e.code(), e.to_string())
    }
}
