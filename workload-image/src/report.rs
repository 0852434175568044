//! The JSON the workload prints: the assumed identity, or the error as the SDK gave it, with
//! the environment and token claims that explain either.

use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use serde::Serialize;
use serde_json::{Value, json};

use crate::env::InjectedEnv;
use crate::token::{TokenError, TokenSummary};

/// GetCallerIdentity's answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CallerIdentity {
    pub account: Option<String>,
    pub arn: Option<String>,
    pub user_id: Option<String>,
}

/// Why there is no identity: an AWS error code when STS answered with one (from
/// GetCallerIdentity, or from the AssumeRoleWithWebIdentity the credential chain made), else
/// the kind of SDK failure; and the SDK's full message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn from_sdk<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let message = DisplayErrorContext(err).to_string();
        if let Some(code) = err.code() {
            return Self {
                code: code.to_owned(),
                message,
            };
        }
        // A credential-chain failure wraps the web-identity call's own error: its code (e.g.
        // InvalidIdentityToken, AccessDenied) is what a person needs first.
        let mut source = std::error::Error::source(err);
        while let Some(e) = source {
            if let Some(web) = e.downcast_ref::<AssumeRoleWithWebIdentityError>()
                && let Some(code) = web.code()
            {
                return Self {
                    code: code.to_owned(),
                    message,
                };
            }
            source = e.source();
        }
        let kind = match err {
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            SdkError::TimeoutError(_) => "TimeoutError",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            SdkError::ServiceError(_) => "ServiceError",
            _ => "SdkError",
        };
        Self {
            code: kind.to_owned(),
            message,
        }
    }
}

#[derive(Debug)]
pub struct Report {
    env: InjectedEnv,
    token: Option<Result<TokenSummary, TokenError>>,
    outcome: Result<CallerIdentity, Failure>,
}

impl Report {
    pub fn new(
        env: InjectedEnv,
        token: Option<Result<TokenSummary, TokenError>>,
        outcome: Result<CallerIdentity, Failure>,
    ) -> Self {
        Self {
            env,
            token,
            outcome,
        }
    }

    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// One JSON object: `ok`, then `callerIdentity` or `error`, then `env`, `missing` (IRSA
    /// variables not injected), and `token` (claims) or `tokenError`.
    pub fn to_json(&self) -> Value {
        let mut out = json!({ "ok": self.ok() });
        match &self.outcome {
            Ok(identity) => out["callerIdentity"] = json!(identity),
            Err(failure) => out["error"] = json!(failure),
        }
        out["env"] = json!(self.env);
        out["missing"] = json!(
            self.env
                .missing()
                .iter()
                .map(|v| v.name())
                .collect::<Vec<_>>()
        );
        match &self.token {
            Some(Ok(summary)) => out["token"] = json!(summary),
            Some(Err(e)) => out["tokenError"] = json!(e.to_string()),
            None => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_carries_the_arn_and_no_error() {
        let report = Report::new(
            InjectedEnv::default(),
            None,
            Ok(CallerIdentity {
                account: Some("111122223333".into()),
                arn: Some("arn:aws:sts::111122223333:assumed-role/r/s".into()),
                user_id: Some("AROA:s".into()),
            }),
        );
        let json = report.to_json();
        assert_eq!(json["ok"], true);
        assert_eq!(
            json["callerIdentity"]["arn"],
            "arn:aws:sts::111122223333:assumed-role/r/s"
        );
        assert!(json.get("error").is_none());
    }

    #[test]
    fn a_failure_names_the_code_and_the_variables_not_injected() {
        let report = Report::new(
            InjectedEnv::default(),
            Some(Err(TokenError::NotAJwt { path: "/t".into() })),
            Err(Failure {
                code: "DispatchFailure".into(),
                message: "no credentials".into(),
            }),
        );
        let json = report.to_json();
        assert_eq!(json["ok"], false);
        assert_eq!(json["error"]["code"], "DispatchFailure");
        assert_eq!(
            json["missing"],
            json!(["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"])
        );
        assert!(json["tokenError"].as_str().unwrap().contains("/t"));
    }
}
