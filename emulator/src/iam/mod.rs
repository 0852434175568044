//! Fake IAM: OIDC identity providers, roles with trust policies, and the IAM Query API
//! subset the setup guides use (`aws iam create-open-id-connect-provider`, `create-role`, ...).

mod arn;
pub(crate) mod condition;
mod errors;
mod query_api;
mod store;
mod trust_policy;

pub use arn::{RoleArn, parse_role_arn};
pub use errors::IamError;
pub use query_api::handle_query;
pub use store::{Iam, OidcProvider, Role};
pub use trust_policy::{Decision, PolicyDocument, WebIdentityContext};

/// The account every ARN belongs to unless configured otherwise (AWS documentation's example).
pub const DEFAULT_ACCOUNT_ID: &str = "111122223333";

/// IAM's XML namespace.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
